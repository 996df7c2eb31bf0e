"""Calibration targets: what the synthetic Milton Keynes is tuned to, and where each
figure comes from. Tests check the generated data against them with plain counting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    tolerance: float  # the test's allowed difference, in the value's own units
    unit: str  # "%", "people", "rows a year", ...
    area: Literal["Milton Keynes", "England"]
    source: str  # publication and period the figure comes from


MODULES = ("hospital", "waits", "care", "weight")


def all_targets() -> list[tuple[str, Target]]:
    """(module, target) for every calibration target the generators declare."""
    import importlib

    found = []
    for module in MODULES:
        for target in getattr(importlib.import_module(f"mkdeal.synth.{module}"), "TARGETS", []):
            found.append((module, target))
    return found


def render_targets_markdown() -> str:
    lines = [
        "# The synthetic Milton Keynes: calibration targets",
        "",
        "Generated from the generators' `TARGETS` by `mkdeal synth --targets`; a test keeps",
        "it current. Each target says whether it is a Milton Keynes or an England figure, and",
        "its source; the slow tests check the generated data against it within the tolerance.",
        "",
        "| module | target | value | tolerance | unit | area | source |",
        "|---|---|---|---|---|---|---|",
    ]
    for module, t in all_targets():
        source = t.source.replace("|", "/").replace("\n", " ")
        cells = [module, t.name, f"{t.value:g}", f"± {t.tolerance:g}", t.unit, t.area, source]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
