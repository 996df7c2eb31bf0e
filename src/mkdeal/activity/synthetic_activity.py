"""Synthetic activity for the demo's participants, as the payloads their devices send.
Pure: a seed and the participants in, payload bytes out.

Daily steps average about 5,500 (people with type 2 diabetes walk less than most adults;
the programme's own baseline figure), with a wide between-person spread (each person's
usual level is log-normal, so some walk 2,000 a day and some 12,000), a weekday pattern
(weekends about 15% lower), day-to-day noise, missing days (not worn or not synced, some
in runs, as after a holiday), and a few days with a handful of steps (worn briefly).
Apple Watch participants send HealthKit daily statistics with the iPhone's and the
Watch's own sums beside the merged one; other device routes send FHIR Observations
(LOINC 41950-7) as their companion apps' exports would, until their own adapters come.
A participant sends a payload a week, sometimes a day or two late.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

MEAN_STEPS = 5_850  # a person's usual weekday level: about 5,500 a day over every day
SPREAD = 0.5  # the between-person standard deviation of log steps
WEEKEND = 0.85


@dataclass(frozen=True)
class Sender:
    reference: str
    device_route: str
    time_zone: str
    first_day: date  # the first day the participant sends (after consent)
    last_day: date  # the last day (as_of, or before stopping data collection)


@dataclass(frozen=True)
class Delivery:
    reference: str
    source: str  # healthkit or fhir
    sent_on: date
    payload: bytes


def daily_steps(rng: np.random.Generator, days: list[date]) -> list[int | None]:
    """One person's steps on each day (None: not worn or not synced)."""
    usual = MEAN_STEPS * np.exp(rng.normal(-(SPREAD**2) / 2, SPREAD))
    steps: list[int | None] = []
    gap = 0
    for day in days:
        if gap:
            gap -= 1
            steps.append(None)
            continue
        draw = rng.random()
        if draw < 0.005:
            gap = int(rng.integers(3, 14)) - 1  # a run of missing days
            steps.append(None)
        elif draw < 0.08:
            steps.append(None)
        elif draw < 0.10:
            steps.append(int(rng.integers(0, 600)))  # worn for a moment
        else:
            level = usual * (WEEKEND if day.weekday() >= 5 else 1.0)
            steps.append(int(max(0, rng.gamma(8, level / 8))))
    return steps


def _healthkit(days: list[tuple[date, int]], zone: ZoneInfo, rng: np.random.Generator) -> bytes:
    statistics = []
    for day, steps in days:
        start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
        watch = int(steps * rng.uniform(0.75, 0.95))
        phone = int(steps * rng.uniform(0.3, 0.7))  # overlaps the watch's: never added
        statistics.append(
            {
                "type": "HKQuantityTypeIdentifierStepCount",
                "start": start.isoformat(),
                "end": end.isoformat(),
                "sum": steps,
                "sources": [
                    {"name": "Apple Watch", "sum": watch},
                    {"name": "iPhone", "sum": phone},
                ],
            }
        )
        statistics.append(
            {
                "type": "HKQuantityTypeIdentifierAppleExerciseTime",
                "start": start.isoformat(),
                "end": end.isoformat(),
                "sum": int(steps / 250 * rng.uniform(0.5, 1.5)),
            }
        )
    document = {"format": "healthkit-statistics", "version": 1, "interval": "P1D"}
    document["statistics"] = statistics
    return json.dumps(document).encode()


def _fhir(days: list[tuple[date, int]]) -> bytes:
    entries = [
        {
            "resource": {
                "resourceType": "Observation",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "41950-7"}]},
                "effectiveDateTime": day.isoformat(),
                "valueQuantity": {"value": steps, "unit": "steps", "code": "{steps}"},
            }
        }
        for day, steps in days
    ]
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}).encode()


def deliveries(senders: list[Sender], seed: int) -> list[Delivery]:
    """Every payload the senders' devices send, in the order they are sent."""
    found = []
    for sender in senders:
        number = int(sender.reference.removeprefix("AMK-"))
        rng = np.random.default_rng([seed, number, sender.first_day.toordinal()])
        days = [
            sender.first_day + timedelta(days=n)
            for n in range((sender.last_day - sender.first_day).days + 1)
        ]
        steps = daily_steps(rng, days)
        zone = ZoneInfo(sender.time_zone)
        week: list[tuple[date, int]] = []
        for day, count in zip(days, steps, strict=True):
            if count is not None:
                week.append((day, count))
            if week and (day.weekday() == 6 or day == sender.last_day):
                sent = min(sender.last_day, day + timedelta(days=int(rng.integers(0, 3))))
                if sender.device_route == "apple_watch_iphone":
                    found.append(
                        Delivery(sender.reference, "healthkit", sent, _healthkit(week, zone, rng))
                    )
                else:
                    found.append(Delivery(sender.reference, "fhir", sent, _fhir(week)))
                week = []
    return sorted(found, key=lambda d: (d.sent_on, d.reference))
