"""Weekly goals tailored to each person, behind a versioned rule interface. Pure.

A goal rule takes a participant's history (valid days, earlier goals, readiness each
week, any clinician's limits) and gives the week's goal with its inputs, so that the goal
can be explained to the participant and derived again later. This module ships one rule,
the MK weekly prescription (`MKWeeklyPrescription`, version 1):

- **Baseline**: the mean of the participant's valid days over a run-in before the first
  goal (14 days by default, needing 7 valid days); with fewer, the programme's default
  starting goal.
- **Two targets a week**: active minutes (moderate minutes plus vigorous minutes counted
  double) and steps (the mean a valid day). The week is met when either is reached.
  Weeks start on Monday, in the participant's local dates.
- **The plan**: over the first 12 weeks of rises both targets move in even steps from the
  baseline to 150 active minutes a week and to a step target of the baseline raised by
  `step_rise` (within a floor and a cap); then they are kept until week 104.
- **Holding**: the goal stays as it was (the plan does not advance) when readiness says
  `hold`, or the week before had fewer than `min_valid_days` valid days. `not_ready`
  means no goal. A clinician's limits cap both targets, and with `no_vigorous` vigorous
  minutes count once, as moderate ones (H-009).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from mkdeal.activity.programme import Limits
from mkdeal.activity.readiness import HOLD, MAY_RISE, NOT_READY

NO_LIMITS = Limits()


@dataclass(frozen=True)
class Day:
    """A canonical day as goals see it: its values, and whether it is valid."""

    local_date: date
    steps: int | None
    moderate_minutes: int | None
    vigorous_minutes: int | None
    valid: bool


@dataclass(frozen=True)
class Goal:
    week_start: date  # a Monday
    rule: str  # name/version
    active_minutes: int  # a week
    daily_steps: int  # the mean a valid day
    plan_week: int  # how many rises have been made (0 while holding at the baseline)
    held: bool
    inputs: Mapping = field(default_factory=dict)  # what it was derived from, to explain it


@dataclass(frozen=True)
class WeekResult:
    week_start: date
    active_minutes: int
    mean_daily_steps: int | None
    valid_days: int
    met_on_minutes: bool
    met_on_steps: bool

    @property
    def met(self) -> bool:
        return self.met_on_minutes or self.met_on_steps


def week_start(day: date) -> date:
    """The Monday of the week holding a local date."""
    return day - timedelta(days=day.weekday())


def week_result(goal: Goal, days: Sequence[Day], limits: Limits = NO_LIMITS) -> WeekResult:
    """How the week's days did against its goal. Active minutes count every day with
    data; steps are the mean of the valid days (a day not worn does not drag it down)."""
    mine = [d for d in days if goal.week_start <= d.local_date < goal.week_start + timedelta(7)]
    weight = 1 if limits.no_vigorous else 2
    minutes = sum((d.moderate_minutes or 0) + weight * (d.vigorous_minutes or 0) for d in mine)
    valid = [d for d in mine if d.valid and d.steps is not None]
    mean = round(sum(d.steps for d in valid) / len(valid)) if valid else None
    return WeekResult(
        goal.week_start,
        minutes,
        mean,
        len(valid),
        minutes >= goal.active_minutes,
        mean is not None and mean >= goal.daily_steps,
    )


@dataclass(frozen=True)
class MKWeeklyPrescription:
    """The MK weekly prescription, version 1 (its parameters are part of the rule)."""

    name: str = "mk_weekly_prescription/1"
    run_in_days: int = 14
    min_run_in_valid_days: int = 7
    default_active_minutes: int = 60  # a week, without a usable baseline
    default_daily_steps: int = 4000
    ramp_weeks: int = 12
    last_week: int = 104
    target_active_minutes: int = 150
    step_rise: float = 0.3  # the step target is the baseline raised by this share
    min_active_minutes: int = 30
    max_active_minutes: int = 300
    min_daily_steps: int = 2000
    max_daily_steps: int = 12000
    min_valid_days: int = 4  # in the week before, for the plan to advance

    def baseline(self, days: Sequence[Day], first_goal: date) -> dict:
        """The mean valid day of the run-in before the first goal, or the default when the
        run-in is too short."""
        start = first_goal - timedelta(days=self.run_in_days)
        run_in = [d for d in days if start <= d.local_date < first_goal and d.valid]
        if len(run_in) < self.min_run_in_valid_days:
            return {
                "source": "default",
                "run_in_valid_days": len(run_in),
                "active_minutes": self.default_active_minutes,
                "daily_steps": self.default_daily_steps,
            }
        minutes = sum((d.moderate_minutes or 0) + 2 * (d.vigorous_minutes or 0) for d in run_in)
        return {
            "source": "run-in",
            "run_in_valid_days": len(run_in),
            "active_minutes": round(minutes / len(run_in) * 7),
            "daily_steps": round(sum(d.steps or 0 for d in run_in) / len(run_in)),
        }

    def targets(self, baseline: Mapping, plan_week: int, limits: Limits) -> tuple[int, int]:
        """Both targets at a point of the plan: even steps to the end of the ramp."""
        share = min(plan_week, self.ramp_weeks) / self.ramp_weeks
        start_minutes, start_steps = baseline["active_minutes"], baseline["daily_steps"]
        end_minutes = max(self.target_active_minutes, start_minutes)
        end_steps = round(start_steps * (1 + self.step_rise))
        minutes = round(start_minutes + share * (end_minutes - start_minutes))
        steps = round(start_steps + share * (end_steps - start_steps))
        minutes = min(max(minutes, self.min_active_minutes), self.max_active_minutes)
        steps = min(max(steps, self.min_daily_steps), self.max_daily_steps)
        if limits.max_weekly_active_minutes is not None:
            minutes = min(minutes, limits.max_weekly_active_minutes)
        if limits.max_daily_steps is not None:
            steps = min(steps, limits.max_daily_steps)
        return minutes, steps

    def goal(
        self,
        week: date,
        readiness: str,
        days: Sequence[Day],
        previous: Goal | None,
        first_week: date,
        limits: Limits = NO_LIMITS,
    ) -> Goal | None:
        """The goal for the week starting `week` (a Monday), given the one before."""
        if week.weekday() != 0:
            raise ValueError(f"A goal week starts on a Monday; {week} is not one.")
        if readiness == NOT_READY:
            return None
        weeks_in = (week - first_week).days // 7 + 1
        if weeks_in > self.last_week:
            return None
        baseline = (
            # The run-in before the first goal actually set (later than the programme's
            # first goal week for someone not ready at first).
            dict(previous.inputs["baseline"]) if previous else self.baseline(days, week)
        )
        last_plan_week = previous.plan_week if previous else 0
        before = [d for d in days if week - timedelta(7) <= d.local_date < week and d.valid]
        reasons = []
        if readiness == HOLD:
            reasons.append("readiness is hold")
        if previous is not None and len(before) < self.min_valid_days:
            reasons.append(
                f"{len(before)} valid days the week before, fewer than {self.min_valid_days}"
            )
        held = bool(reasons)
        plan_week = last_plan_week if held else last_plan_week + 1
        if held and previous is not None:
            minutes, steps = previous.active_minutes, previous.daily_steps
            # A clinician's limits apply at once, even to a goal that holds.
            if limits.max_weekly_active_minutes is not None:
                minutes = min(minutes, limits.max_weekly_active_minutes)
            if limits.max_daily_steps is not None:
                steps = min(steps, limits.max_daily_steps)
        else:
            minutes, steps = self.targets(baseline, plan_week, limits)
        return Goal(
            week,
            self.name,
            minutes,
            steps,
            plan_week,
            held,
            {
                "baseline": baseline,
                "readiness": readiness,
                "week_of_programme": weeks_in,
                "valid_days_week_before": len(before),
                "held_because": reasons,
                "limits": asdict(limits),
                "parameters": {k: v for k, v in asdict(self).items() if k != "name"},
            },
        )


RULES = {MKWeeklyPrescription().name: MKWeeklyPrescription()}


def goals_for(
    rule: MKWeeklyPrescription,
    first_week: date,
    last_week: date,
    readiness_by_week: Mapping[date, str],
    days: Sequence[Day],
    limits_by_week: Mapping[date, Limits] | None = None,
) -> list[Goal]:
    """Every week's goal from the first goal week to `last_week`, in order: the same
    history always gives the same goals."""
    goals: list[Goal] = []
    previous = None
    week = first_week
    while week <= last_week:
        limits = (limits_by_week or {}).get(week, NO_LIMITS)
        goal = rule.goal(
            week, readiness_by_week.get(week, MAY_RISE), days, previous, first_week, limits
        )
        if goal is not None:
            goals.append(goal)
            previous = goal
        week += timedelta(7)
    return goals
