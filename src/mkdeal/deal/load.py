"""Read the Deal's data file and check it.

The Deal ships inside the package (`deal.toml` beside this module) and is read through
`importlib.resources`, so it is found in an installed wheel as well as in a checkout. Any
problem with the file becomes a `ConfigurationError` that names the file and the problem.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from mkdeal.deal.model import Deal
from mkdeal.errors import ConfigurationError

# Beside the code rather than in a `data/` folder: the repository's .gitignore ignores every
# folder called `data/`, and hatchling leaves git-ignored files out of the wheel.
PACKAGED_DEAL_FILE = "deal.toml"

# Item lists whose entries are best named by their id in messages.
_LISTS_WITH_IDS = ("partners", "priorities")


def load_deal(path: Path | None = None) -> Deal:
    """Load and check the Deal: the packaged file, or the file at `path`."""
    if path is None:
        resource = resources.files("mkdeal.deal").joinpath(PACKAGED_DEAL_FILE)
        label = str(resource)
        try:
            raw = resource.read_bytes()
        except OSError as error:
            raise ConfigurationError(
                f"The packaged Deal file {label} cannot be read ({error}); reinstall mkdeal."
            ) from error
    else:
        label = str(path)
        try:
            raw = Path(path).read_bytes()
        except OSError as error:
            raise ConfigurationError(
                f"The Deal file {label} cannot be read ({error.strerror or error})."
            ) from error
    return parse_deal(raw, label)


def parse_deal(raw: bytes, label: str) -> Deal:
    """Check the bytes of a Deal file; `label` names the file in messages."""
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigurationError(
            f"The Deal file {label} is not UTF-8 text (byte {error.start}); save it as UTF-8."
        ) from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(
            f"The Deal file {label} is not valid TOML: {error}. "
            "Dates are written unquoted as YYYY-MM-DD."
        ) from error
    try:
        return Deal.model_validate(data)
    except ValidationError as error:
        errors = error.errors()
        # A list whose only item failed also reports itself too short: the item's error says it.
        errors = [e for e in errors if not (e["type"] == "too_short" and _has_inner(e, errors))]
        problems = [_describe(item, data) for item in errors]
        raise ConfigurationError(
            f"The Deal file {label} has {_count(len(problems), 'problem')}: "
            + "; ".join(problems)
            + "."
        ) from None


def deal_as_dict(deal: Deal) -> dict[str, Any]:
    """The Deal as plain data for JSON: dates as ISO strings, absent codes as None."""
    return deal.model_dump(mode="json")


def _describe(item: Any, data: dict[str, Any]) -> str:
    location = _where(item["loc"], data)
    kind = item["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_fields(item["loc"][:-1])
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return f"{location} is not a known field; check its spelling{hint}"
    if kind == "missing":
        return f"{location} is missing"
    message = item["msg"].removeprefix("Value error, ")
    if kind == "enum":
        message = f"{item['input']!r} is not one of: {item['ctx']['expected']}"
    elif kind.startswith("date_"):
        reason = item.get("ctx", {}).get("error", message)
        message = f"{item['input']!r} is not a valid date ({reason}); write dates as YYYY-MM-DD"
    elif kind.startswith("bool"):
        message = f"{item['input']!r} is not a boolean; write true or false, unquoted"
    return f"{location}: {message}" if location else message


def _has_inner(item: Any, errors: Sequence[Any]) -> bool:
    loc = tuple(item["loc"])
    return any(len(e["loc"]) > len(loc) and tuple(e["loc"][: len(loc)]) == loc for e in errors)


def _where(loc: Sequence[str | int], data: dict[str, Any]) -> str:
    """A readable path, naming list items by id where they have one: priorities['obesity']."""
    parts: list[str] = []
    node: Any = data
    for step in loc:
        if isinstance(step, int):
            item = node[step] if isinstance(node, list) and step < len(node) else None
            item_id = item.get("id") if isinstance(item, dict) else None
            named = parts and parts[-1] in _LISTS_WITH_IDS and isinstance(item_id, str)
            parts[-1] += f"[{item_id!r}]" if named else f"[{step + 1}]"
            node = item
        else:
            parts.append(str(step))
            node = node.get(step) if isinstance(node, dict) else None
    return ".".join(parts)


def _allowed_fields(loc: Sequence[str | int]) -> list[str]:
    """The field names the model at `loc` accepts, found by walking the Deal's models."""
    model: type[BaseModel] = Deal
    for step in loc:
        if isinstance(step, int):
            continue
        field = model.model_fields.get(str(step))
        inner = _model_in(field.annotation) if field else None
        if inner is None:
            return []
        model = inner
    return list(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()):
        found = _model_in(argument)
        if found is not None:
            return found
    return None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
