"""The programme's rules: eligibility, device routes, the exercise-safety screen, pauses
and withdrawal levels. Pure: no I/O, "today" is a parameter.

The screen follows the American Diabetes Association's position statement on physical
activity and diabetes (Colberg et al., Diabetes Care 2016;39:2065-79): insulin or an
insulin secretagogue (a sulfonylurea) risks hypoglycaemia with exercise; an active foot
ulcer or loss of protective sensation calls for non-weight-bearing activity; proliferative
retinopathy rules out vigorous activity; unstable cardiac symptoms need assessment first.
Any "yes" sends the participant to a clinician's sign-off before any goal is set
(docs/safety/hazard-log.md, H-007 to H-010).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

ADULT_AGE = 18


@dataclass(frozen=True)
class DeviceRoute:
    code: str
    name: str
    needs: str  # what the participant must have
    supports: str  # what the programme can read from it


# Every route the programme offers (docs/programme.md has the equality note): people
# without an iPhone have three, and a loaned device needs no phone of their own.
DEVICE_ROUTES: dict[str, DeviceRoute] = {
    route.code: route
    for route in (
        DeviceRoute(
            "apple_watch_iphone",
            "Apple Watch with an iPhone",
            "an iPhone (iOS 17 or later) to pair the watch with",
            "steps, active minutes by intensity and heart rate, through Apple HealthKit",
        ),
        DeviceRoute(
            "android_health_connect",
            "Android phone with a watch that writes to Health Connect",
            "an Android phone (Android 9 or later) with Health Connect",
            "steps, active minutes and heart rate, where the watch writes them",
        ),
        DeviceRoute(
            "garmin",
            "Garmin watch",
            "a phone of either kind running Garmin Connect, or a computer to sync it",
            "steps, intensity minutes and heart rate, from Garmin's files or service",
        ),
        DeviceRoute(
            "loaned_device",
            "A device loaned by the programme",
            "nothing of their own: staff sync it at appointments or on a loaned phone",
            "steps and active minutes; staff enter the days by hand if the device fails",
        ),
    )
}


@dataclass(frozen=True)
class Eligibility:
    """What programme staff checked at enrolment (who and when are recorded beside it)."""

    date_of_birth: date
    type_2_diabetes: bool  # a recorded diagnosis of type 2 diabetes
    practice_code: str  # the GP practice the person is registered with
    device_route: str
    can_use_device: bool  # the person has (or is loaned) and can use the route's device


def age_on(born: date, on: date) -> int:
    """Whole years of age on a day (someone born on 29 February turns a year older on
    1 March in a common year)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def eligibility_problems(answers: Eligibility, on: date, practices: Mapping[str, str]) -> list[str]:
    """Why a person may not be enrolled on a day, as sentences; none if they may.

    `practices` are the Milton Keynes GP practices, ODS code to name.
    """
    problems = []
    if answers.date_of_birth > on:
        problems.append("The date of birth is after today.")
    elif age_on(answers.date_of_birth, on) < ADULT_AGE:
        problems.append(f"The programme is for adults: the person is under {ADULT_AGE}.")
    if not answers.type_2_diabetes:
        problems.append("The programme is for people with a diagnosis of type 2 diabetes.")
    if answers.practice_code not in practices:
        problems.append(
            f"The practice {answers.practice_code!r} is not a Milton Keynes GP practice on "
            "the programme's list."
        )
    if answers.device_route not in DEVICE_ROUTES:
        problems.append(
            f"The device route {answers.device_route!r} is not one of {', '.join(DEVICE_ROUTES)}."
        )
    elif not answers.can_use_device:
        problems.append(
            "The person needs a device route they can use; a loaned device needs no phone "
            "of their own."
        )
    return problems


@dataclass(frozen=True)
class ScreenQuestion:
    code: str
    question: str  # as staff read it out to the participant
    why: str  # the risk, for the clinician


SCREEN_QUESTIONS: tuple[ScreenQuestion, ...] = (
    ScreenQuestion(
        "insulin_or_sulfonylurea",
        "Do you take insulin, or a sulfonylurea tablet such as gliclazide or glimepiride?",
        "Risk of hypoglycaemia during or after exercise.",
    ),
    ScreenQuestion(
        "foot_ulcer_or_sensation_loss",
        "Do you have a foot ulcer now, or have you been told you have lost feeling in your feet?",
        "Weight-bearing activity can cause or worsen foot ulcers.",
    ),
    ScreenQuestion(
        "proliferative_retinopathy",
        "Have you been told you have proliferative diabetic retinopathy, or had laser or "
        "injection treatment for your eyes because of diabetes?",
        "Vigorous activity can cause bleeding in the eye.",
    ),
    ScreenQuestion(
        "unstable_cardiac_symptoms",
        "Do you get chest pain, tightness or breathlessness that is new, getting worse, or "
        "comes on at rest?",
        "Unstable heart symptoms need assessment before any increase in activity.",
    ),
)
SCREEN_CODES = tuple(q.code for q in SCREEN_QUESTIONS)


def screen_problems(answers: Mapping[str, bool | None]) -> list[str]:
    """What is missing from a screen's answers: every question needs a yes or a no."""
    unknown = sorted(set(answers) - set(SCREEN_CODES))
    problems = [f"{code!r} is not a screening question." for code in unknown]
    for question in SCREEN_QUESTIONS:
        if answers.get(question.code) is None:
            problems.append(f"Answer yes or no: {question.question}")
    return problems


def is_positive(answers: Mapping[str, bool]) -> bool:
    """A screen with any "yes" needs a clinician's sign-off."""
    return any(answers[code] for code in SCREEN_CODES)


# A clinician's decision on a positive screen.
SIGN_OFF_DECISIONS = {
    "cleared": "Cleared: the plan may go ahead as usual",
    "cleared_with_limits": "Cleared with limits on the plan",
    "not_cleared": "Not cleared: no goals until a new screen is signed off",
}


@dataclass(frozen=True)
class Limits:
    """A clinician's limits on a participant's plan; goals never exceed them."""

    max_weekly_active_minutes: int | None = None
    max_daily_steps: int | None = None
    no_vigorous: bool = False  # vigorous minutes do not count towards the goal
    note: str = ""

    def __bool__(self) -> bool:
        return bool(
            self.max_weekly_active_minutes is not None
            or self.max_daily_steps is not None
            or self.no_vigorous
        )


# Why a participant pauses. Every pause holds the goal as it is; a reported hypoglycaemia
# or injury is a safety event, so only a clinician may end that pause (H-011).
PAUSE_REASONS = {
    "holiday": "On holiday",
    "unwell": "Unwell",
    "hypo_or_injury": "Reported a hypoglycaemia or an injury",
}
CLINICIAN_ENDS = frozenset({"hypo_or_injury"})


@dataclass(frozen=True)
class WithdrawalLevel:
    code: str
    rank: int  # each level includes every lower one
    name: str
    effect: str  # as written in the record and the docs


WITHDRAWAL_LEVELS: dict[str, WithdrawalLevel] = {
    level.code: level
    for level in (
        WithdrawalLevel(
            "programme",
            1,
            "Stop the programme",
            "No more goals, nudges or rewards. Data already collected is kept, and data "
            "from the device is still accepted for the trial's follow-up.",
        ),
        WithdrawalLevel(
            "data_collection",
            2,
            "Stop data collection",
            "Stops the programme, and no new data is accepted from this time on. Data "
            "already collected is kept.",
        ),
        WithdrawalLevel(
            "data",
            3,
            "Withdraw data",
            "Stops the programme and data collection, and deletes the participant's "
            "activity data. Records that financial audit requires, such as vouchers "
            "issued, are kept under the participant's pseudonym.",
        ),
    )
}
