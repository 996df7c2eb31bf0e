"""Synthetic activity: plausible steps, sent as the devices' own payloads."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from mkdeal.activity.adapters import parse
from mkdeal.activity.synthetic_activity import Sender, daily_steps, deliveries


def test_steps_average_about_5500_with_a_wide_spread_a_weekday_pattern_and_gaps():
    days = [date(2026, 1, 5) + timedelta(days=i) for i in range(364)]
    people = [daily_steps(np.random.default_rng(k), days) for k in range(400)]
    worn = np.array([s for person in people for s in person if s is not None])
    assert 5_000 < worn.mean() < 6_000
    means = [np.mean([s for s in p if s is not None]) for p in people]
    low, high = np.percentile(means, [10, 90])
    assert high / low > 2.5  # some walk 2,500 a day, some over 9,000
    weekday = np.mean(
        [s for p in people for d, s in zip(days, p, strict=True) if s and d.weekday() < 5]
    )
    weekend = np.mean(
        [s for p in people for d, s in zip(days, p, strict=True) if s and d.weekday() >= 5]
    )
    assert 0.8 < weekend / weekday < 0.9
    missing = sum(s is None for p in people for s in p) / (len(people) * len(days))
    assert 0.05 < missing < 0.2


def test_deliveries_are_the_adapters_formats_and_cover_the_worn_days():
    march = (date(2026, 3, 1), date(2026, 3, 31))
    senders = [
        Sender("AMK-00001", "apple_watch_iphone", "Europe/London", *march),
        Sender("AMK-00002", "garmin", "Europe/London", *march),
    ]
    sent = deliveries(senders, seed=0)
    assert sent == deliveries(senders, seed=0)  # the same seed, the same bytes
    assert {d.source for d in sent} == {"healthkit", "fhir"}
    assert [d.sent_on for d in sent] == sorted(d.sent_on for d in sent)
    for reference, route in (("AMK-00001", "apple_watch_iphone"), ("AMK-00002", "garmin")):
        days = [
            day
            for d in sent
            if d.reference == reference
            for day in parse(d.source, d.payload, "Europe/London").days
        ]
        expected = daily_steps(
            np.random.default_rng([0, int(reference[-5:]), date(2026, 3, 1).toordinal()]),
            [date(2026, 3, 1) + timedelta(days=i) for i in range(31)],
        )
        assert [d.steps for d in days] == [s for s in expected if s is not None], route
        assert all(date(2026, 3, 1) <= d.local_date <= date(2026, 3, 31) for d in days)
