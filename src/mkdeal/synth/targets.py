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
