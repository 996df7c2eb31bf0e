"""Canonical days: how readings become one day per participant, source and local date,
when a day is final, and which days are valid. Pure.

- A reading carries some values (HealthKit steps in one payload, exercise minutes in
  another); each value it carries replaces that value of the day, the others stay. A
  reading that changes nothing makes no version: re-sent data changes nothing.
- Any change makes a new version; every version is kept. A change to a day already final
  is a revision after final (`after_final`): recorded, never silent.
- A day is final `final_after_days` after it ends (day_rules.toml).
- Valid days follow a named, versioned rule; a zero-step day is non-wear unless the rule
  counts zero steps. `day_for_goals` picks one source's day where there are several.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib.resources import files

from mkdeal.activity.adapters import VALUES
from mkdeal.errors import ConfigurationError, UserError

# A staff entry (a device failed) is preferred to a device's day, then HealthKit, then FHIR.
SOURCE_PRIORITY = ("manual", "healthkit", "fhir")


@dataclass(frozen=True)
class Version:
    version: int
    values: Mapping[str, int | None]
    after_final: bool


def next_version(
    current: Mapping[str, int | None] | None,
    version: int,
    final: bool,
    reading: Mapping[str, int | None],
) -> Version | None:
    """The new version a reading makes of a day at `version` (0 if none yet), or None when
    it changes nothing."""
    base = dict.fromkeys(VALUES) if current is None else dict(current)
    merged = {**base, **{k: v for k, v in reading.items() if v is not None}}
    if current is not None and merged == base:
        return None
    return Version(version + 1, merged, final and current is not None)


@dataclass(frozen=True)
class DayRules:
    final_after_days: int
    in_force: str
    rules: Mapping[str, Mapping]


@cache
def day_rules() -> DayRules:
    data = tomllib.loads(
        files("mkdeal.activity").joinpath("day_rules.toml").read_text(encoding="utf-8")
    )
    rules = dict(data["rules"])
    if data["in_force"] not in rules:
        raise ConfigurationError(
            f"day_rules.toml: the rule in force {data['in_force']!r} is not defined."
        )
    if int(data["final_after_days"]) < 1:
        raise ConfigurationError("day_rules.toml: final_after_days must be 1 or more.")
    return DayRules(int(data["final_after_days"]), data["in_force"], rules)


def final_from(local_date: date, final_after_days: int) -> date:
    """The first "today" on which a day is final."""
    return local_date + timedelta(days=final_after_days + 1)


def is_final(local_date: date, as_of: date, final_after_days: int) -> bool:
    return as_of >= final_from(local_date, final_after_days)


def valid_day(values: Mapping[str, int | None], rule_name: str | None = None) -> tuple[bool, str]:
    """Whether a day is valid under a rule (the one in force by default), and why not."""
    rules = day_rules()
    name = rule_name or rules.in_force
    if name not in rules.rules:
        raise UserError(
            f"There is no valid-day rule {name!r}; the rules are {', '.join(rules.rules)}."
        )
    rule = rules.rules[name]
    steps, wear = values.get("steps"), values.get("wear_minutes")
    if not steps and not rule.get("zero_steps_is_wear", False):
        return False, "No steps: the device was not worn."
    if "min_wear_minutes" in rule and (wear is None or wear < rule["min_wear_minutes"]):
        return False, f"Worn for less than {rule['min_wear_minutes']} minutes."
    if "min_steps" in rule and (steps or 0) < rule["min_steps"]:
        return False, f"Fewer than {rule['min_steps']:,} steps: not worn long enough."
    if "max_steps" in rule and (steps or 0) > rule["max_steps"]:
        return False, f"More than {rule['max_steps']:,} steps: taken as a device fault."
    return True, ""


def day_for_goals(by_source: Mapping[str, Mapping[str, int | None]]) -> tuple[str, Mapping] | None:
    """The one source's day that counts when several sent the same date (SOURCE_PRIORITY)."""
    for source in SOURCE_PRIORITY:
        if source in by_source:
            return source, by_source[source]
    return None
