"""The MK weekly prescription, golden tests on hand-worked weeks.

First goal week: Monday 2 March 2026; run-in 16 February to 1 March. Worked by hand:

- Baseline from 10 valid run-in days of 5,000 steps and 10 moderate minutes: 5,000 steps
  a day and 10 x 7 = 70 active minutes a week. Ends of the ramp: 150 minutes and
  5,000 x 1.3 = 6,500 steps. Plan week k: 70 + 80k/12 minutes, 5,000 + 125k steps, so
  week 1 is 76.67 -> 77 and 5,125; week 2 83.33 -> 83 and 5,250; week 12 150 and 6,500.
- A run-in of 6 valid days is short: the default 60 minutes and 4,000 steps; week 1 is
  60 + 90/12 = 67.5 -> 68 (round half to even) and 4,000 + 1,200/12 = 4,100.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from mkdeal.activity.goals import Day, MKWeeklyPrescription, goals_for, week_result, week_start
from mkdeal.activity.programme import Limits
from mkdeal.activity.readiness import HOLD, MAY_RISE, NOT_READY

RULE = MKWeeklyPrescription()
FIRST = date(2026, 3, 2)


def _days(first: date, count: int, steps=5000, moderate=10, vigorous=0, valid=True):
    return [Day(first + timedelta(days=i), steps, moderate, vigorous, valid) for i in range(count)]


def _run_in(valid: int) -> list[Day]:
    start = FIRST - timedelta(days=14)
    return _days(start, valid) + _days(start + timedelta(valid), 14 - valid, 300, 0, 0, False)


def _weeks(n: int, valid_per_week: int = 7) -> list[Day]:
    found = []
    for w in range(n):
        found += _days(FIRST + timedelta(7 * w), valid_per_week)
    return found


def _targets(goals):
    return [(g.week_start, g.active_minutes, g.daily_steps, g.plan_week, g.held) for g in goals]


def test_the_plan_rises_in_even_steps_for_12_weeks_then_holds_steady():
    days = _run_in(10) + _weeks(14)
    goals = goals_for(RULE, FIRST, FIRST + timedelta(7 * 13), {}, days)
    assert _targets(goals)[:2] == [
        (date(2026, 3, 2), 77, 5125, 1, False),
        (date(2026, 3, 9), 83, 5250, 2, False),
    ]
    assert [(g.active_minutes, g.daily_steps) for g in goals[11:]] == [(150, 6500)] * 3
    assert goals[0].inputs["baseline"] == {
        "source": "run-in", "run_in_valid_days": 10, "active_minutes": 70, "daily_steps": 5000,
    }  # fmt: skip
    # The same history gives the same goals.
    assert goals == goals_for(RULE, FIRST, FIRST + timedelta(7 * 13), {}, days)


def test_a_run_in_short_of_valid_days_starts_from_the_default():
    goals = goals_for(RULE, FIRST, FIRST, {}, _run_in(6))
    assert _targets(goals) == [(FIRST, 68, 4100, 1, False)]
    assert goals[0].inputs["baseline"]["source"] == "default"
    assert goals[0].inputs["baseline"]["run_in_valid_days"] == 6


def test_a_week_short_of_valid_days_holds_the_goal():
    """Week 1 had 3 valid days, so week 2 keeps week 1's goal; week 3 rises to plan week 2."""
    days = _run_in(10) + _weeks(1, valid_per_week=3) + _days(FIRST + timedelta(7), 7)
    goals = goals_for(RULE, FIRST, FIRST + timedelta(14), {}, days)
    assert _targets(goals) == [
        (date(2026, 3, 2), 77, 5125, 1, False),
        (date(2026, 3, 9), 77, 5125, 1, True),
        (date(2026, 3, 16), 83, 5250, 2, False),
    ]
    assert goals[1].inputs["held_because"] == ["3 valid days the week before, fewer than 4"]


def test_hold_keeps_the_goal_and_not_ready_sets_none():
    days = _run_in(10) + _weeks(4)
    readiness = {FIRST + timedelta(7): HOLD, FIRST + timedelta(14): NOT_READY}
    goals = goals_for(RULE, FIRST, FIRST + timedelta(21), readiness, days)
    assert _targets(goals) == [
        (date(2026, 3, 2), 77, 5125, 1, False),
        (date(2026, 3, 9), 77, 5125, 1, True),
        # 16 March: not ready, no goal; 23 March: the plan goes on from plan week 1.
        (date(2026, 3, 23), 83, 5250, 2, False),
    ]
    assert goals[1].inputs["held_because"] == ["readiness is hold"]


def test_not_ready_at_first_takes_the_baseline_from_the_run_in_before_the_first_goal():
    """Not ready for the first two weeks (no days then either); the first goal, on 16 March,
    takes its baseline from 2 to 15 March: 14 valid days of 6,000 steps and 20 moderate
    minutes, so 140 minutes a week; week 1 is 140 + 10/12 = 140.83 -> 141 minutes and
    6,000 + 1,800/12 = 6,150 steps."""
    days = _days(FIRST, 14, steps=6000, moderate=20)
    readiness = {FIRST: NOT_READY, FIRST + timedelta(7): NOT_READY}
    goals = goals_for(RULE, FIRST, FIRST + timedelta(14), readiness, days)
    assert _targets(goals) == [(date(2026, 3, 16), 141, 6150, 1, False)]
    assert goals[0].inputs["baseline"]["run_in_valid_days"] == 14
    assert goals[0].inputs["week_of_programme"] == 3


def test_a_clinicians_cap_and_the_rules_caps_are_reached_and_kept():
    days = _run_in(10) + _weeks(6)
    capped = {FIRST + timedelta(7 * w): Limits(max_weekly_active_minutes=90) for w in range(6)}
    goals = goals_for(RULE, FIRST, FIRST + timedelta(35), {}, days, capped)
    # Plan weeks 1-6: 77, 83, 90, 96.67 -> 90 (capped), 103.33 -> 90, 110 -> 90.
    assert [g.active_minutes for g in goals] == [77, 83, 90, 90, 90, 90]
    assert [g.daily_steps for g in goals] == [5125, 5250, 5375, 5500, 5625, 5750]
    # A very active person: 11,000 steps would rise to 14,300, capped at 12,000.
    busy = _run_in(0) + _days(FIRST - timedelta(14), 14, steps=11000)
    goals = goals_for(RULE, FIRST, FIRST + timedelta(7 * 12), {}, busy + _weeks(12))
    assert goals[-1].daily_steps == 12000


def test_a_week_met_on_steps_but_not_minutes():
    goal = goals_for(RULE, FIRST, FIRST, {}, _run_in(10))[0]  # 77 minutes, 5,125 steps
    week = _days(FIRST, 5, steps=5500, moderate=5) + _days(
        FIRST + timedelta(5), 2, 200, 0, 0, False
    )
    result = week_result(goal, week)
    assert (result.active_minutes, result.mean_daily_steps, result.valid_days) == (25, 5500, 5)
    assert (result.met_on_minutes, result.met_on_steps, result.met) == (False, True, True)


def test_a_clock_change_inside_the_week_leaves_seven_local_days():
    """Sunday 29 March 2026 has 23 hours; the week of 23 March still has seven dates, and
    vigorous minutes count double (once under a clinician's no-vigorous limit)."""
    week = date(2026, 3, 23)
    assert week_start(date(2026, 3, 29)) == week and week_start(date(2026, 3, 30)) == date(
        2026, 3, 30
    )
    goal = goals_for(RULE, FIRST, week, {}, _run_in(10) + _weeks(4))[-1]
    assert (goal.active_minutes, goal.daily_steps) == (97, 5500)  # plan week 4: 96.67 -> 97
    days = [*_days(week, 6, steps=5000, moderate=10), Day(date(2026, 3, 29), 5200, 20, 10, True)]
    assert week_result(goal, days).valid_days == 7
    assert week_result(goal, days).active_minutes == 6 * 10 + 20 + 2 * 10
    limited = week_result(goal, days, Limits(no_vigorous=True))
    assert limited.active_minutes == 6 * 10 + 20 + 10


def test_a_goal_week_starts_on_a_monday():
    with pytest.raises(ValueError, match="starts on a Monday"):
        RULE.goal(date(2026, 3, 3), MAY_RISE, [], None, FIRST)
