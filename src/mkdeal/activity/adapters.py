"""Activity payloads into day readings: one adapter per source, all pure.

An adapter reads the bytes a device or a person sent and returns, for each local date it
covers, the day's values (steps; light, moderate and vigorous minutes; wear minutes; any
it does not carry are None), what it kept for audit, and any intraday step buckets. A
payload it cannot read whole raises `PayloadError` with a sentence, and nothing of it is
used: the sync API answers 4xx and stores nothing.

The study day is the participant's local date: a time with an offset is placed on the
date it had in that offset (where the participant was), a time without one in the
participant's time zone. Sources (docs/activity.md has the formats):

- `healthkit`: the phone app's upload of Apple HealthKit statistics (HKStatistics
  collection queries, daily, hourly or quarter-hourly). **Merge rule:** an iPhone and an
  Apple Watch both count steps, over the same minutes; HealthKit's statistics query
  merges them (each moment counted once, from the source HealthKit prefers), and that
  merged `sum` is the day. Per-source sums are kept for audit only and never added, and
  raw samples are never summed. A statistic without its merged sum is refused.
- `fhir`: FHIR R4 Observations (one, or a Bundle of them) with LOINC 41950-7 (number of
  steps in 24 hours) or 55423-8 (number of steps over a period within one local day).
- `manual`: days entered by staff after a device failure, marked as such.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

SOURCES = ("healthkit", "fhir", "manual")
VALUES = ("steps", "light_minutes", "moderate_minutes", "vigorous_minutes", "wear_minutes")
MAX_STEPS_A_DAY = 200_000  # far above any real day; a larger count is a fault
MINUTES_A_DAY = 25 * 60  # the longest local day, at the autumn clock change
# What each value needs the participant to have agreed to (the consent items).
SCOPE_OF = {
    "steps": "scope_steps",
    "light_minutes": "scope_active_minutes",
    "moderate_minutes": "scope_active_minutes",
    "vigorous_minutes": "scope_active_minutes",
    "wear_minutes": "scope_heart_rate",
}


class PayloadError(ValueError):
    """A payload that cannot be used; the message is a sentence for the sender."""


@dataclass(frozen=True)
class Bucket:
    """Steps in one interval of the day (15 or 5 minutes, or an hour where that is all)."""

    start: datetime  # UTC
    minutes: int
    steps: int


@dataclass(frozen=True)
class DayReading:
    local_date: date
    steps: int | None = None
    light_minutes: int | None = None
    moderate_minutes: int | None = None
    vigorous_minutes: int | None = None
    wear_minutes: int | None = None
    detail: dict = field(default_factory=dict)
    buckets: tuple[Bucket, ...] = ()

    def values(self) -> dict[str, int | None]:
        return {name: getattr(self, name) for name in VALUES}


@dataclass(frozen=True)
class Parsed:
    source: str
    days: tuple[DayReading, ...]

    @property
    def scopes(self) -> frozenset[str]:
        """The consent items the payload's values need."""
        return frozenset(
            SCOPE_OF[name] for day in self.days for name, v in day.values().items() if v is not None
        )


def parse(source: str, payload: bytes, time_zone: str) -> Parsed:
    """The day readings in a payload from a source, for a participant in `time_zone`."""
    if source not in PARSERS:
        raise PayloadError(f"The source {source!r} is not one of {', '.join(SOURCES)}.")
    try:
        document = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PayloadError(f"The payload is not JSON in UTF-8 ({error}).") from None
    if not isinstance(document, dict):
        raise PayloadError("The payload must be a JSON object.")
    days = PARSERS[source](document, ZoneInfo(time_zone))
    if not days:
        raise PayloadError("The payload holds no days.")
    return Parsed(source, tuple(sorted(days, key=lambda d: d.local_date)))


# --- reading values -------------------------------------------------------------------


def _count(value: object, what: str, most: int) -> int:
    """A whole, non-negative number; a string holding one is read as that number (the
    phone app's JSON encoder writes some decimals as strings)."""
    if isinstance(value, bool):
        raise PayloadError(f"{what} must be a number, not true or false.")
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"\d+(\.0+)?", text):
            raise PayloadError(f"{what} is {value!r}, which is not a whole number.")
        value = float(text)
    if not isinstance(value, int | float):
        raise PayloadError(f"{what} must be a number.")
    if value < 0 or value != int(value):
        raise PayloadError(f"{what} is {value}, which is not a whole number of 0 or more.")
    if value > most:
        raise PayloadError(f"{what} is {int(value):,}, more than the {most:,} possible.")
    return int(value)


def _moment(value: object, what: str, zone: ZoneInfo) -> datetime:
    """An ISO 8601 time; one without an offset is in the participant's time zone."""
    if not isinstance(value, str):
        raise PayloadError(f"{what} must be a time written like 2026-03-02T00:00:00+00:00.")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise PayloadError(f"{what} is {value!r}, which is not an ISO 8601 time.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _local_date(moment: datetime) -> date:
    """The date where the participant was: the moment's own offset decides it."""
    return moment.date()


# --- HealthKit statistics ---------------------------------------------------------------

HEALTHKIT_TYPES = {
    "HKQuantityTypeIdentifierStepCount": "steps",
    # Apple's exercise minutes are minutes of brisk (moderate or harder) movement.
    "HKQuantityTypeIdentifierAppleExerciseTime": "moderate_minutes",
    # Minutes with a heart-rate reading, counted by the app: the wear time.
    "mkdeal.wearMinutes": "wear_minutes",
}
HEALTHKIT_INTERVALS = {"P1D": None, "PT1H": 60, "PT15M": 15, "PT5M": 5}


def _healthkit(document: dict, zone: ZoneInfo) -> list[DayReading]:
    if document.get("format") != "healthkit-statistics" or document.get("version") != 1:
        raise PayloadError(
            'A HealthKit payload needs "format": "healthkit-statistics", "version": 1.'
        )
    interval = document.get("interval")
    if interval not in HEALTHKIT_INTERVALS:
        raise PayloadError(f"interval must be one of {', '.join(HEALTHKIT_INTERVALS)}.")
    minutes = HEALTHKIT_INTERVALS[interval]
    statistics = document.get("statistics")
    if not isinstance(statistics, list) or not statistics:
        raise PayloadError("statistics must be a list of at least one statistic.")
    totals: dict[date, dict[str, int]] = {}
    detail: dict[date, dict] = {}
    buckets: dict[date, dict[datetime, Bucket]] = {}
    for number, statistic in enumerate(statistics, start=1):
        where = f"statistics[{number}]"
        if not isinstance(statistic, dict):
            raise PayloadError(f"{where} must be an object.")
        kind = statistic.get("type")
        if kind not in HEALTHKIT_TYPES:
            raise PayloadError(f"{where}.type {kind!r} is not one of {', '.join(HEALTHKIT_TYPES)}.")
        name = HEALTHKIT_TYPES[kind]
        start = _moment(statistic.get("start"), f"{where}.start", zone)
        end = _moment(statistic.get("end"), f"{where}.end", zone)
        day = _local_date(start)
        if minutes is None:
            # A day runs from local midnight to the next: 23, 24 or 25 hours.
            midnight = datetime.combine(day, datetime.min.time(), tzinfo=start.tzinfo)
            if (
                start != midnight
                or end.date() != day + timedelta(days=1)
                or end.time() != datetime.min.time()
            ):
                raise PayloadError(f"{where} must run from one local midnight to the next.")
        elif end - start != timedelta(minutes=minutes):
            raise PayloadError(f"{where} must last {minutes} minutes, as interval {interval} says.")
        if "sum" not in statistic:
            raise PayloadError(
                f"{where} has no merged sum. Send HealthKit's statistics sum, which counts "
                "the iPhone and the Watch once; per-source sums are never added."
            )
        most = MAX_STEPS_A_DAY if name == "steps" else MINUTES_A_DAY
        value = _count(statistic["sum"], f"{where}.sum", most)
        day_totals = totals.setdefault(day, {})
        day_totals[name] = day_totals.get(name, 0) + value
        sources = statistic.get("sources", [])
        if not isinstance(sources, list):
            raise PayloadError(f"{where}.sources must be a list.")
        for source in sources:
            if not isinstance(source, dict) or not isinstance(source.get("name"), str):
                raise PayloadError(f"{where}.sources must each have a name and a sum.")
            by_source = detail.setdefault(day, {}).setdefault(f"{name} by source", {})
            label = source["name"]
            by_source[label] = by_source.get(label, 0) + _count(
                source.get("sum"), f"{where}.sources sum", most
            )
        if minutes is not None and name == "steps":
            utc = start.astimezone(UTC)
            if utc in buckets.setdefault(day, {}):
                raise PayloadError(f"{where} repeats the interval starting {start.isoformat()}.")
            buckets[day][utc] = Bucket(utc, minutes, value)
    for day, values in totals.items():
        for name, value in values.items():
            if value > (MAX_STEPS_A_DAY if name == "steps" else MINUTES_A_DAY):
                raise PayloadError(
                    f"The {name.replace('_', ' ')} of {day} add up to {value:,}, "
                    "more than possible."
                )
    return [
        DayReading(
            day,
            **values,
            detail=detail.get(day, {}),
            buckets=tuple(sorted(buckets.get(day, {}).values(), key=lambda b: b.start)),
        )
        for day, values in totals.items()
    ]


# --- FHIR R4 Observations -----------------------------------------------------------------

LOINC = "http://loinc.org"
DAILY_STEPS, PERIOD_STEPS = "41950-7", "55423-8"
USABLE_STATUSES = ("final", "amended", "corrected")


def _observations(document: dict) -> list[dict]:
    kind = document.get("resourceType")
    if kind == "Observation":
        return [document]
    if kind == "Bundle":
        entries = document.get("entry")
        if not isinstance(entries, list):
            raise PayloadError("The Bundle has no entry list.")
        found = []
        for number, entry in enumerate(entries, start=1):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict) or resource.get("resourceType") != "Observation":
                raise PayloadError(f"Bundle entry {number} is not an Observation.")
            found.append(resource)
        return found
    raise PayloadError("A FHIR payload must be an Observation or a Bundle of Observations.")


def _fhir(document: dict, zone: ZoneInfo) -> list[DayReading]:
    totals: dict[date, int] = {}
    detail: dict[date, dict] = {}
    for number, observation in enumerate(_observations(document), start=1):
        where = f"Observation {number}"
        if observation.get("status") not in USABLE_STATUSES:
            raise PayloadError(
                f"{where} has status {observation.get('status')!r}; only "
                f"{', '.join(USABLE_STATUSES)} are used."
            )
        codings = (observation.get("code") or {}).get("coding") or []
        codes = {c.get("code") for c in codings if isinstance(c, dict) and c.get("system") == LOINC}
        code = (
            DAILY_STEPS if DAILY_STEPS in codes else PERIOD_STEPS if PERIOD_STEPS in codes else None
        )
        if code is None:
            raise PayloadError(f"{where} is not LOINC {DAILY_STEPS} or {PERIOD_STEPS} (steps).")
        quantity = observation.get("valueQuantity")
        if not isinstance(quantity, dict) or "value" not in quantity:
            raise PayloadError(f"{where} has no valueQuantity.value.")
        steps = _count(quantity["value"], f"{where} valueQuantity.value", MAX_STEPS_A_DAY)
        if "effectiveDateTime" in observation:
            text = observation["effectiveDateTime"]
            if code == PERIOD_STEPS:
                raise PayloadError(f"{where}: steps over a period need an effectivePeriod.")
            if isinstance(text, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                day = date.fromisoformat(text)
            else:
                day = _local_date(_moment(text, f"{where} effectiveDateTime", zone))
        elif isinstance(observation.get("effectivePeriod"), dict):
            period = observation["effectivePeriod"]
            start = _moment(period.get("start"), f"{where} effectivePeriod.start", zone)
            end = _moment(period.get("end"), f"{where} effectivePeriod.end", zone)
            if end <= start:
                raise PayloadError(f"{where} effectivePeriod ends before it starts.")
            last = end - timedelta(microseconds=1)
            if last.astimezone(start.tzinfo).date() != start.date():
                raise PayloadError(
                    f"{where} effectivePeriod crosses local midnight, so it belongs to no one day."
                )
            day = _local_date(start)
        else:
            raise PayloadError(f"{where} has no effectiveDateTime or effectivePeriod.")
        if code == DAILY_STEPS and detail.get(day, {}).get(DAILY_STEPS):
            raise PayloadError(f"{where} is a second 24-hour step count for {day}.")
        totals[day] = totals.get(day, 0) + steps
        detail.setdefault(day, {})[code] = detail.get(day, {}).get(code, 0) + 1
    for day, counts in detail.items():
        if DAILY_STEPS in counts and PERIOD_STEPS in counts:
            raise PayloadError(
                f"{day} has both a 24-hour count and counts over periods; send one kind."
            )
    return [
        DayReading(day, steps=steps, detail={"observations": detail[day]})
        for day, steps in totals.items()
    ]


# --- staff entry --------------------------------------------------------------------------


def _manual(document: dict, zone: ZoneInfo) -> list[DayReading]:
    if document.get("format") != "manual" or document.get("version") != 1:
        raise PayloadError('A manual entry needs "format": "manual", "version": 1.')
    reason = document.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise PayloadError("Say why the days are entered by hand (for example, the watch failed).")
    days = document.get("days")
    if not isinstance(days, list) or not days:
        raise PayloadError("days must be a list of at least one day.")
    found: dict[date, DayReading] = {}
    for number, entry in enumerate(days, start=1):
        where = f"days[{number}]"
        if not isinstance(entry, dict):
            raise PayloadError(f"{where} must be an object.")
        try:
            day = date.fromisoformat(str(entry.get("date")))
        except ValueError:
            raise PayloadError(f"{where}.date must be a date written like 2026-03-02.") from None
        if day in found:
            raise PayloadError(f"{where} repeats {day}.")
        values = {}
        for name in VALUES:
            if entry.get(name) is not None:
                values[name] = _count(
                    entry[name],
                    f"{where}.{name}",
                    MAX_STEPS_A_DAY if name == "steps" else MINUTES_A_DAY,
                )
        if not values:
            raise PayloadError(f"{where} gives no value.")
        found[day] = DayReading(day, **values, detail={"manual": True, "reason": reason.strip()})
    return list(found.values())


PARSERS: dict[str, Callable[[dict, ZoneInfo], Iterable[DayReading]]] = {
    "healthkit": _healthkit,
    "fhir": _fhir,
    "manual": _manual,
}
