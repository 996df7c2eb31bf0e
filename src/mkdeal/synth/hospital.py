"""Milton Keynes University Hospital (RD8): acute spells, daily discharge readiness and
ambulance arrivals, as the hospital's extracts would hold them.

Spells and readiness come from one set of spells. `acute_spells(world, rng, scale)` and
`discharge_readiness(world, rng, scale)` each rebuild that set from `rng`, drawing in the
same order, so they agree when given generators of the same seed (and only then);
`hospital(world, rng, scale)` builds it once and returns all three tables, each equal to
what its own generator gives for a generator of the same seed. Wire `hospital` when the
datasets are made together, so spells and readiness share a seed whatever the caller does.

Spells start from 120 days before `world.start` so that the hospital is already full on
the first morning: those earlier spells appear in `discharge_readiness` (as a real daily
snapshot would show them) but not in `acute_spells`, whose period column is the admission.

Times are Europe/London clock times. Spells are drawn on the clock (a time in the hour
the clocks skip in March is moved an hour later); ambulance arrivals are drawn in real
time, so the October night has its repeated hour and the March night loses one: a time in
the second, GMT, pass of the repeated hour is written with its offset ("+00:00"), because a
bare clock time in that hour means the first, BST, pass (as the loader reads it).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mkdeal.synth.population import World
from mkdeal.synth.targets import Target

PROVIDER = "RD8"  # Milton Keynes University Hospital NHS Foundation Trust
SITE = "RD816"  # its main site, as the contracts' example has it
WARM_UP_DAYS = 120  # spells begin this long before world.start, to fill the first snapshots

# --- Calibration targets ------------------------------------------------------------------

TARGETS: list[Target] = [
    Target(
        name="acute spells admitted in 2023-24",
        value=80_000,
        tolerance=4_000,
        unit="spells a year",
        area="Milton Keynes",
        source=(
            "mkdeal DESIGN.md, 'Scale to plan for': about 80,000 acute spells a year at "
            "Milton Keynes University Hospital; a planning figure, not a publication. "
            "Checked on April 2023 to March 2024."
        ),
    ),
    Target(
        name="emergency admissions a day, December-February over June-August",
        value=8.0,
        tolerance=3.0,
        unit="% more",
        area="Milton Keynes",
        source=(
            "Assumption: winter pressure as more emergency admissions in December to "
            "February, about 8% more a day than in June to August, and more in older "
            "people and children (no published Milton Keynes figure used). Checked on the "
            "winters 2022-23 to 2024-25 against the summers 2022 to 2025."
        ),
    ),
    Target(
        name="adult inpatients not meeting the criteria to reside and not discharged that day",
        value=13.5,
        tolerance=2.0,
        unit="% of adult general and acute inpatients at the snapshot",
        area="England",
        source=(
            "NHS England acute discharge sitrep: more than 13,000 of about 100,000 beds "
            "(Health Foundation analysis, December 2022); 13,566 a day in the week to 22 "
            "January 2023 (NHS England weekly winter data as reported by PA); about one in "
            "seven. Checked on the snapshots of April 2023 to March 2024."
        ),
    ),
    Target(
        name="patients not meeting the criteria to reside who are discharged that day",
        value=42.0,
        tolerance=5.0,
        unit="%",
        area="England",
        source=(
            "NHS England acute discharge sitrep: 45% discharged in the week ending 5 "
            "December 2021 (Nuffield Trust, 19,167 a day not meeting the criteria); 42.7% in "
            "the week ending 6 February 2022 (NHS Confederation); 41% in the week to 22 "
            "January 2023 (59% remained, PA). Checked on April 2023 to March 2024."
        ),
    ),
    Target(
        name="not meeting the criteria to reside, not discharged, in hospital 21 days or more",
        value=45.0,
        tolerance=8.0,
        unit="%",
        area="England",
        source=(
            "Nuffield Trust, 'Chart of the week: what's happening to hospital discharges' "
            "(February 2022), from the acute discharge sitrep, winter 2021-22: 'nearly half' "
            "had stayed more than 21 days. Checked on April 2023 to March 2024."
        ),
    ),
    Target(
        name="ambulance handovers over 30 minutes, early December",
        value=14.5,
        tolerance=2.0,
        unit="% of handovers with a known time",
        area="Milton Keynes",
        source=(
            "NHS England winter daily situation reports as reported by the Milton Keynes "
            "Citizen: 63 of 444 arrivals (14%) in the week to 5 December 2021; 37 of 253 "
            "(15%) in the week to 3 December 2023. Checked on 27 November to 10 December "
            "of 2019, 2021, 2023, 2024 and 2025."
        ),
    ),
    Target(
        name="ambulance handovers over 60 minutes, early December",
        value=2.0,
        tolerance=1.0,
        unit="% of handovers with a known time",
        area="Milton Keynes",
        source=(
            "As above: 10 of 444 (2%) in the week to 5 December 2021; 5 of 253 (2%) in the "
            "week to 3 December 2023."
        ),
    ),
    Target(
        name="ambulance handovers over 30 minutes, June-August",
        value=7.0,
        tolerance=2.5,
        unit="% of handovers with a known time",
        area="Milton Keynes",
        source=(
            "Assumption: summer delays about half the early-December share (no published "
            "Milton Keynes summer figure; the winter sitreps run only from late November). "
            "Checked on June to August 2021 to 2025."
        ),
    ),
]

# Volumes a year at scale 1 in an ordinary year, summing with births and deaths in hospital
# to about 80,000 (TARGETS[0]); the mix is an assumption shaped like HES admitted patient
# care in England (about two in five spells emergency, most elective spells day cases).
EMERGENCY_ADULT = 26_500
EMERGENCY_CHILD = 3_600
ELECTIVE_DAY_CASE = 32_000
ELECTIVE_ORDINARY = 6_000
MATERNITY = 7_000
MENTAL_HEALTH = 250
CRITICAL_CARE = 400
TRANSFER_IN = 300
BIRTHS_RECORDED = 0.85  # share of the world's births with a birth spell at MKUH
# Deaths in hospital: a little under half of deaths in England happen in hospital (ONS
# place-of-death figures before the pandemic; an approximation). Most come from final
# admissions of adults who die (drawn from the world's deaths), a few from stays that
# reach a death date.
DEATHS_IN_HOSPITAL = 0.42  # share of adult deaths with a final admission ending in death

AMBULANCE_ARRIVALS = 30_000  # a year, DESIGN.md 'Scale to plan for' (an assumption)

# Winter uplift (TARGETS[1]): emergency rates follow 1 + A cos(2 pi (day - peak) / 365.25);
# a three-month average of the cosine around the peak is about 0.9, so A = 0.035 for adults
# and 0.12 for children (bronchiolitis peaks in December) give about 8% overall. Within
# adults, people 75 and over take a larger share in winter (WINTER_ADULT_OLDER).
WINTER_ADULT = 0.035
WINTER_ADULT_OLDER = 0.06
WINTER_CHILD = 0.12

# --- Ages, seasons, weekdays, hours --------------------------------------------------------

AGE_EDGES = np.array([0, 1, 5, 10, 16, 18, 25, 35, 45, 55, 65, 75, 85, 200])
# Relative admission rates by age band (per person-year, shapes only; each stream is scaled
# to its volume). Emergency rates rise steeply with age, as in HES (England).
RATES = {
    "emergency_adult": [0, 0, 0, 0, 0, 45, 50, 55, 70, 95, 150, 260, 480],
    "emergency_child": [400, 150, 60, 50, 70, 0, 0, 0, 0, 0, 0, 0, 0],
    "elective": [0, 0, 0, 0, 0, 25, 40, 60, 100, 150, 220, 250, 150],
    "maternity": [0, 0, 0, 0, 10, 60, 110, 45, 3, 0, 0, 0, 0],
    "mental_health": [0, 0, 0, 0, 0, 30, 30, 25, 20, 15, 10, 10, 10],
    "critical_care": [0, 0, 0, 0, 0, 10, 10, 15, 25, 40, 60, 60, 30],
    "ambulance": [60, 30, 25, 30, 45, 60, 55, 55, 65, 85, 140, 280, 600],
}
WEEKDAYS = {  # Monday first
    "emergency": [1.10, 1.03, 1.00, 1.00, 1.00, 0.94, 0.93],
    "elective": [1.0, 1.0, 1.0, 1.0, 1.0, 0.08, 0.02],
    "flat": [1.0] * 7,
}
HOURS = {  # relative, by local clock hour 0-23
    "emergency": [2.0, 1.5, 1.2, 1.0, 0.9, 0.9, 1.0, 1.5, 2.5, 3.5, 4.5, 5.2,
                  5.5, 5.6, 5.6, 5.5, 5.4, 5.3, 5.0, 4.6, 4.0, 3.4, 2.9, 2.4],
    "elective": [0, 0, 0, 0, 0, 0, 0.5, 30, 25, 10, 8, 7, 8, 7, 5, 3, 1, 0.5, 0, 0, 0, 0, 0, 0],
    "flat": [3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 3, 3],
    "discharge": [0.3, 0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 2, 4, 6,
                  8, 9, 10, 11, 11, 10, 8, 6, 4, 3, 2, 1],
    "ambulance": [2.6, 2.2, 1.9, 1.7, 1.6, 1.6, 1.9, 2.6, 3.6, 4.5, 5.0, 5.3,
                  5.4, 5.4, 5.3, 5.2, 5.1, 5.0, 4.8, 4.5, 4.1, 3.7, 3.3, 2.9],
}  # fmt: skip
# COVID-19: admissions fell sharply from March 2020 and recovered through 2021 (the shape
# of England's monthly activity; an assumption for Milton Keynes, month factors by eye).
COVID = {
    "emergency": {
        "2020-03": 0.85, "2020-04": 0.65, "2020-05": 0.78, "2020-06": 0.85, "2020-07": 0.90,
        "2020-08": 0.92, "2020-09": 0.95, "2020-10": 0.93, "2020-11": 0.88, "2020-12": 0.90,
        "2021-01": 0.82, "2021-02": 0.88, "2021-03": 0.95, "2021-04": 0.97,
    },
    "elective": {
        "2020-03": 0.80, "2020-04": 0.30, "2020-05": 0.40, "2020-06": 0.55, "2020-07": 0.70,
        "2020-08": 0.75, "2020-09": 0.85, "2020-10": 0.87, "2020-11": 0.85, "2020-12": 0.82,
        "2021-01": 0.60, "2021-02": 0.70, "2021-03": 0.85, "2021-04": 0.90, "2021-05": 0.92,
        "2021-06": 0.95,
    },
    "ambulance": {
        "2020-03": 0.92, "2020-04": 0.80, "2020-05": 0.88, "2020-06": 0.93, "2020-07": 0.96,
        "2021-01": 0.93,
    },
    "none": {},
}  # fmt: skip


@dataclass(frozen=True)
class _Stream:
    """Admissions of one kind: their volume, who has them, and when."""

    name: str
    per_year: float
    rates: str  # key of RATES
    ages: tuple[int, int]  # inclusive, at admission
    women_only: bool
    deprivation: float  # extra rate in the most deprived decile over the least
    winter: float  # amplitude of the seasonal cosine
    older_winter: float  # extra winter amplitude for people 75 and over
    peak_day: int  # day of the year of the winter peak
    weekdays: str
    hours: str
    covid: str


STREAMS = (
    _Stream("emergency_adult", EMERGENCY_ADULT, "emergency_adult", (18, 110), False, 0.6,
            WINTER_ADULT, WINTER_ADULT_OLDER, 15, "emergency", "emergency", "emergency"),
    _Stream("emergency_child", EMERGENCY_CHILD, "emergency_child", (0, 17), False, 0.4,
            WINTER_CHILD, 0.0, 350, "emergency", "emergency", "emergency"),
    _Stream("elective_day_case", ELECTIVE_DAY_CASE, "elective", (18, 100), False, 0.1,
            0.0, 0.0, 15, "elective", "elective", "elective"),
    _Stream("elective_ordinary", ELECTIVE_ORDINARY, "elective", (18, 100), False, 0.1,
            0.0, 0.0, 15, "elective", "elective", "elective"),
    _Stream("maternity", MATERNITY, "maternity", (16, 46), True, 0.2,
            0.0, 0.0, 15, "flat", "flat", "none"),
    _Stream("mental_health", MENTAL_HEALTH, "mental_health", (18, 90), False, 0.6,
            0.0, 0.0, 15, "flat", "emergency", "emergency"),
    _Stream("critical_care", CRITICAL_CARE, "critical_care", (18, 100), False, 0.4,
            0.05, 0.0, 15, "flat", "emergency", "emergency"),
    _Stream("transfer_in", TRANSFER_IN, "emergency_adult", (18, 110), False, 0.2,
            0.0, 0.0, 15, "elective", "elective", "elective"),
)  # fmt: skip
BIRTH, TERMINAL = len(STREAMS), len(STREAMS) + 1
STREAM_INDEX = {stream.name: i for i, stream in enumerate(STREAMS)} | {
    "birth": BIRTH,
    "terminal": TERMINAL,
}

# Main specialty and treatment function (NHS Data Dictionary codes) by stream, with weights.
SPECIALTIES = {
    "emergency_adult": [
        ("300", "300", 24), ("300", "301", 6), ("300", "320", 7), ("300", "340", 8),
        ("100", "100", 12), ("100", "104", 2), ("101", "101", 4), ("110", "110", 8),
        ("120", "120", 2), ("502", "502", 3), ("180", "180", 6), ("400", "400", 2),
        ("303", "303", 1), ("370", "370", 1), ("800", "800", 1), ("130", "130", 1),
    ],
    "emergency_child": [("420", "420", 80), ("110", "110", 8), ("100", "100", 6),
                        ("120", "120", 3), ("171", "171", 3)],
    "elective_day_case": [
        ("100", "100", 10), ("100", "106", 2), ("101", "101", 12), ("110", "110", 6),
        ("120", "120", 4), ("130", "130", 15), ("301", "301", 17), ("303", "303", 9),
        ("370", "370", 6), ("800", "800", 3), ("502", "502", 8), ("320", "320", 4),
        ("140", "140", 4),
    ],
    "elective_ordinary": [
        ("100", "100", 20), ("100", "104", 6), ("101", "101", 14), ("110", "110", 30),
        ("120", "120", 6), ("502", "502", 12), ("320", "320", 6), ("300", "301", 6),
    ],
    "maternity": [("501", "501", 85), ("560", "560", 15)],
    "mental_health": [("710", "710", 1)],
    "critical_care": [("192", "192", 1)],
    "transfer_in": [("300", "300", 40), ("430", "430", 40), ("110", "110", 20)],
    "birth": [("420", "424", 1)],
    "terminal": [("300", "300", 35), ("430", "430", 45), ("300", "340", 10), ("370", "370", 5),
                 ("100", "100", 5)],
}  # fmt: skip
WOMEN_ONLY_SPECIALTIES = {"502", "501", "560"}

# Discharge readiness (TARGETS[2:5]): who leaves on which pathway, and how long after the
# discharge ready date. Pathway shares rise with age; delays lengthen from pathway 0 (a few
# hours' wait for medicines or transport, sometimes a day or two) to pathway 3 (waiting for
# a care home). Assumptions tuned so the sitrep shares in TARGETS hold.
PATHWAY_NEED = [(0, 0.03), (65, 0.10), (75, 0.22), (85, 0.38)]  # (from age, share)
PATHWAY_MIX = [0.62, 0.22, 0.16]  # pathways 1, 2, 3 among those needing one
P0_DELAYED = 0.09  # pathway 0 patients waiting a day or more after their ready date
DELAY_MEDIAN = {1: 4.0, 2: 9.0, 3: 14.0}  # days, lognormal
DELAY_SIGMA = 0.85
SUPPORT_STAY = 2.2  # clinical stays of those who will need a pathway 1-3 are longer
BOARD_ROUND_FIRST = 0.80  # declared ready by the morning snapshot on the ready date
# Delays grew from December 2020 to December 2022 by more than half (Health Foundation,
# March 2023); factors on delay length by April-March year (assumption, by eye).
DELAY_YEAR = {2018: 0.8, 2019: 0.8, 2020: 0.7, 2021: 1.0, 2022: 1.15, 2023: 1.0, 2024: 0.95,
              2025: 0.95}  # fmt: skip
DELAY_WINTER = 0.15

# Sitrep delay reasons by pathway (codes of the code list sitrep_delay_reason), weights.
REASONS_2022 = {
    0: {"2022-01": 30, "2022-05": 20, "2022-08": 15, "2022-04": 10, "2022-07": 8,
        "2022-11": 5, "2022-12": 4, "2022-09": 3, "2022-16": 2, "2022-17": 2, "2022-10": 1},
    1: {"2022-13": 55, "2022-06": 10, "2022-03": 10, "2022-02": 8, "2022-07": 7,
        "2022-11": 5, "2022-12": 5},
    2: {"2022-14": 60, "2022-06": 10, "2022-03": 10, "2022-07": 10, "2022-11": 5,
        "2022-18": 5},
    3: {"2022-15": 60, "2022-11": 10, "2022-18": 10, "2022-06": 5, "2022-03": 5,
        "2022-12": 5, "2022-10": 5},
}  # fmt: skip
# mkdeal ships 7 of the 2024 reasons; pathway 0's usual reasons (medicines, letters,
# transport) are not among them, so a third of pathway 0 delays carry no reason, and none
# is about care homes, so pathway 3 delays use the hub, wellbeing and therapy reasons.
REASONS_2024 = {
    0: {"2024-01": 40, "2024-07": 30, None: 30},
    1: {"2024-03": 35, "2024-05": 35, "2024-02": 15, "2024-01": 8, "2024-07": 7},
    2: {"2024-04": 35, "2024-06": 40, "2024-02": 15, "2024-07": 10},
    3: {"2024-02": 50, "2024-07": 30, "2024-01": 20},
}
SPEC_2022 = np.datetime64("2022-05-27")
SPEC_2024 = np.datetime64("2024-05-27")

# Ambulance handovers (TARGETS[5:8]): log minutes are normal, sigma 0.675 in all (0.67 per
# handover, 0.08 between days), with a mean that follows a winter cosine peaking at New
# Year. In early December the mean is about 2.72: 15% over 30 and 2% over 60 minutes, the
# published Milton Keynes weeks; in July it is about 2.42: 7% over 30 minutes. The winter
# of 2022-23 (England's worst on record) is worse and that of 2020-21 (fewer arrivals in
# the pandemic) better; both are assumptions, and the targets are checked on other years.
HANDOVER_MEAN = 2.576
HANDOVER_WINTER = 0.16
HANDOVER_PEAK_DAY = 1
HANDOVER_SIGMA = 0.67
HANDOVER_DAY_SIGMA = 0.08
HANDOVER_WINTER_YEAR = {2020: -0.15, 2022: 0.35}  # winters starting in these years
HANDOVER_UNKNOWN = 0.02
UNIDENTIFIED = 0.03  # arrivals without an NHS number
SERVICES = {"RYE": 0.92, "RYC": 0.06, "other": 0.02}


# --- Clock -----------------------------------------------------------------------------------


def _last_sundays(years: np.ndarray, month: int) -> np.ndarray:
    """The last Sunday of `month` in each year, as datetime64[D]."""
    following = ((np.asarray(years) - 1970) * 12 + month).astype("datetime64[M]")
    last = following.astype("datetime64[D]") - np.timedelta64(1, "D")
    weekday = (last - np.datetime64("1970-01-05")).astype(int) % 7  # Monday 0, Sunday 6
    return last - ((weekday + 1) % 7).astype("timedelta64[D]")


def _years(times: np.ndarray) -> np.ndarray:
    return times.astype("datetime64[Y]").astype(int) + 1970


def utc_to_local(utc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Europe/London clock time of UTC minutes, and whether it is the second pass of the
    October hour that repeats (BST runs from 01:00 UTC on the last Sunday of March to 01:00
    UTC on the last Sunday of October)."""
    utc = utc.astype("datetime64[m]")
    year = _years(utc)
    hour = np.timedelta64(60, "m")
    starts = _last_sundays(year, 3).astype("datetime64[m]") + hour
    ends = _last_sundays(year, 10).astype("datetime64[m]") + hour
    summer = (utc >= starts) & (utc < ends)
    local = utc + np.where(summer, 60, 0).astype("timedelta64[m]")
    return local, (utc >= ends) & (utc < ends + hour)


def local_to_utc(local: np.ndarray) -> np.ndarray:
    """UTC of Europe/London clock times written without an offset, read as the loader reads
    them: a time in the repeated October hour is its first (BST) pass."""
    local = local.astype("datetime64[m]")
    year = _years(local)
    two = np.timedelta64(120, "m")
    summer = (local >= _last_sundays(year, 3).astype("datetime64[m]") + two) & (
        local < _last_sundays(year, 10).astype("datetime64[m]") + two
    )
    return local - np.where(summer, 60, 0).astype("timedelta64[m]")


def _skip_gap(local: np.ndarray) -> np.ndarray:
    """Clock times in the hour skipped in March (01:00-01:59) moved an hour later."""
    day = local.astype("datetime64[D]")
    in_gap = (day == _last_sundays(_years(local), 3)) & (
        (local - day.astype("datetime64[m]")).astype(int) // 60 == 1
    )
    return np.where(in_gap, local + np.timedelta64(60, "m"), local)


def _date_text(days: np.ndarray) -> pa.Array:
    """YYYY-MM-DD (null for NaT), from a table of the days spanned: faster than formatting
    each value."""
    missing = np.isnat(days)
    if missing.all():
        return pa.nulls(len(days), pa.string())
    number = np.where(missing, 0, days.astype("datetime64[D]").astype(np.int64))
    first = number[~missing].min()
    table = np.arange(first, number.max() + 1).astype("datetime64[D]")
    text = pa.array(np.datetime_as_string(table, unit="D"))
    return pc.take(text, pa.array(number - first, mask=missing))


def _clock_text(local: np.ndarray, second: np.ndarray | None = None) -> pa.Array:
    """YYYY-MM-DD HH:MM (null for NaT), with +00:00 on the second pass of October's hour."""
    missing = np.isnat(local)
    minutes = np.where(missing, 0, local.astype("datetime64[m]").astype(np.int64))
    day = np.where(missing, np.datetime64("NaT"), (minutes // 1440).astype("datetime64[D]"))
    text = pc.binary_join_element_wise(
        _date_text(day), pc.take(MINUTE_TEXT, pa.array(minutes % 1440)), " "
    )
    if second is not None and second.any():
        text = pc.if_else(pa.array(second), pc.binary_join_element_wise(text, "+00:00", ""), text)
    return text


MINUTE_TEXT = pa.array([f"{h:02d}:{m:02d}" for h in range(24) for m in range(60)])


# --- Shared helpers -----------------------------------------------------------------------


def _day_of_year(days: np.ndarray) -> np.ndarray:
    days = days.astype("datetime64[D]")
    return (days - days.astype("datetime64[Y]").astype("datetime64[D]")).astype(int)


def _season(days: np.ndarray, amplitude: float, peak_day: int) -> np.ndarray:
    return 1 + amplitude * np.cos(2 * np.pi * (_day_of_year(days) - peak_day) / 365.25)


def _daily_rate(days: np.ndarray, per_year: float, stream: _Stream) -> np.ndarray:
    """Expected admissions each day: volume, winter, weekday and COVID-19 factors."""
    week = np.array(WEEKDAYS[stream.weekdays])
    weekday = (days - np.datetime64("1970-01-05")).astype(int) % 7
    factor = _season(days, stream.winter, stream.peak_day) * week[weekday] / week.mean()
    return per_year / 365.25 * factor * _covid(days, stream.covid)


def _covid(days: np.ndarray, profile: str) -> np.ndarray:
    factor = np.ones(len(days))
    month = days.astype("datetime64[M]")
    for key, value in COVID[profile].items():
        factor[month == np.datetime64(key)] = value
    return factor


def _pick_people(
    world: World,
    rng: np.random.Generator,
    days: np.ndarray,
    rates: str,
    ages: tuple[int, int],
    *,
    women_only: bool = False,
    deprivation: float = 0.0,
    older_winter: float = 0.0,
    peak_day: int = 15,
    ages_at: dict | None = None,
) -> np.ndarray:
    """A resident for each event day, or -1 where none was found.

    Residents are weighted by age band (ages at the middle of each calendar year), sex and
    deprivation, and must be born, alive (the day before their death date) and of an age
    in `ages` on the day; misfits are drawn again. People 75 and over are accepted more
    often in winter and less in summer by a factor 1 + older_winter * season (rejection
    sampling), so winter admissions are older.
    """
    ages_at = {} if ages_at is None else ages_at
    rate = np.array(RATES[rates], float)
    decile_weight = 1 + deprivation * (10 - world.deciles()) / 9
    sex_weight = (world.sexes == "2") if women_only else np.ones(world.size, bool)
    person = np.full(len(days), -1)
    years = days.astype("datetime64[Y]")
    for year in np.unique(years):
        if year not in ages_at:  # ages at mid-year and their bands, shared by all streams
            age = (year.astype("datetime64[D]") + 182 - world.birth_dates).astype(int) / 365.25
            band = np.clip(np.searchsorted(AGE_EDGES, age, side="right") - 1, 0, len(rate) - 1)
            ages_at[year] = (age, band)
        age, band = ages_at[year]
        near = (age >= ages[0] - 1) & (age < ages[1] + 2)
        weight = np.where(near, rate[band], 0.0) * decile_weight * sex_weight
        if weight.sum() <= 0:
            continue
        cumulative = np.cumsum(weight)
        todo = np.flatnonzero(years == year)
        for _ in range(40):
            draw = rng.random(len(todo)) * cumulative[-1]
            candidate = np.minimum(np.searchsorted(cumulative, draw, side="right"), world.size - 1)
            day = days[todo]
            age_then = (day - world.birth_dates[candidate]).astype(int) / 365.25
            death = world.death_dates[candidate]
            fits = (age_then >= ages[0]) & (age_then < ages[1] + 1)
            fits &= np.isnat(death) | (day < death)
            if older_winter:
                boost = np.where(age_then >= 75, _season(day, older_winter, peak_day), 1.0)
                fits &= rng.random(len(todo)) * (1 + older_winter) < boost
            person[todo[fits]] = candidate[fits]
            todo = todo[~fits]
            if not len(todo):
                break
    return person


def _choose(rng: np.random.Generator, options: dict, size: int) -> np.ndarray:
    keys = np.empty(len(options), dtype=object)
    keys[:] = list(options)
    weights = np.array(list(options.values()), float)
    return keys[rng.choice(len(keys), size=size, p=weights / weights.sum())]


def _clock_minutes(rng: np.random.Generator, hours: str, size: int) -> np.ndarray:
    """Minutes after midnight, by the hour weights `hours`."""
    weights = np.array(HOURS[hours], float)
    hour = rng.choice(24, size=size, p=weights / weights.sum())
    return (hour * 60 + rng.integers(0, 60, size)).astype("timedelta64[m]")


def _lognormal_days(rng: np.random.Generator, median, sigma: float, size: int) -> np.ndarray:
    return np.maximum(1, np.rint(median * np.exp(sigma * rng.standard_normal(size)))).astype(int)


# --- Spells ----------------------------------------------------------------------------------


@dataclass
class _Spells:
    """One row per spell (warm-up spells included), in order of admission."""

    spell_id: np.ndarray
    person: np.ndarray
    admitted: np.ndarray  # datetime64[m], clock time
    discharged: np.ndarray  # datetime64[m], clock time; NaT while open at world.end
    admission_method: np.ndarray
    admission_source: np.ndarray
    discharge_method: np.ndarray
    discharge_destination: np.ndarray
    main_specialty: np.ndarray
    treatment_function: np.ndarray
    pathway: np.ndarray  # 0-3, or -1 where none applies
    pathway_recorded: np.ndarray
    bed_type: np.ndarray
    ready_date: np.ndarray  # datetime64[D], the discharge ready date; NaT if none
    not_reside_from: np.ndarray  # first snapshot day not meeting the criteria; NaT if none
    reason_draw: np.ndarray  # uniform, picks the delay reason
    site_known: np.ndarray
    lsoa_known: np.ndarray


def _admissions(world: World, rng: np.random.Generator, scale: float, first: date):
    """(stream, person, admitted) of every stream's admissions from `first`."""
    days = np.arange(np.datetime64(first, "D"), np.datetime64(world.end, "D") + 1)
    streams, people, times, ages_at = [], [], [], {}
    for index, stream in enumerate(STREAMS):
        rate = _daily_rate(days, stream.per_year * scale, stream)
        count = rng.poisson(rate.sum())
        day = np.sort(rng.choice(days, size=count, p=rate / rate.sum()))
        person = _pick_people(
            world,
            rng,
            day,
            stream.rates,
            stream.ages,
            women_only=stream.women_only,
            deprivation=stream.deprivation,
            older_winter=stream.older_winter,
            peak_day=stream.peak_day,
            ages_at=ages_at,
        )
        at = day.astype("datetime64[m]") + _clock_minutes(rng, stream.hours, count)
        found = person >= 0
        streams.append(np.full(found.sum(), index))
        people.append(person[found])
        times.append(at[found])
    return np.concatenate(streams), np.concatenate(people), np.concatenate(times)


def _births(world: World, rng: np.random.Generator, scale: float, first: date):
    """Birth spells of the world's babies born from `first`: (person, admitted)."""
    born = (world.birth_dates >= np.datetime64(first)) & (
        world.birth_dates <= np.datetime64(world.end)
    )
    baby = np.flatnonzero(born & (rng.random(world.size) < min(1.0, BIRTHS_RECORDED * scale)))
    at = world.birth_dates[baby].astype("datetime64[m]")
    return baby, at + _clock_minutes(rng, "flat", len(baby))


def _terminal(world: World, rng: np.random.Generator, scale: float, first: date):
    """Final admissions of adults who die in hospital: (person, admitted), a day or more
    before the death date."""
    death = world.death_dates
    candidate = np.flatnonzero(~np.isnat(death))
    candidate = candidate[rng.random(len(candidate)) < min(1.0, DEATHS_IN_HOSPITAL * scale)]
    stay = np.clip(np.rint(6 * np.exp(rng.standard_normal(len(candidate)))), 1, 90)
    day = death[candidate] - stay.astype("timedelta64[D]")
    at = day.astype("datetime64[m]") + _clock_minutes(rng, "emergency", len(candidate))
    adult = (day - world.birth_dates[candidate]).astype(int) / 365.25 >= 18
    keep = (day >= np.datetime64(first)) & adult
    return candidate[keep], at[keep]


def _spells(world: World, rng: np.random.Generator, scale: float) -> _Spells:
    """Every spell from WARM_UP_DAYS before world.start to world.end, from `rng` alone."""
    first = world.start - timedelta(days=WARM_UP_DAYS)
    stream, person, admitted = _admissions(world, rng, scale, first)
    baby, baby_at = _births(world, rng, scale, first)
    dying, dying_at = _terminal(world, rng, scale, first)
    stream = np.concatenate([stream, np.full(len(baby), BIRTH), np.full(len(dying), TERMINAL)])
    person = np.concatenate([person, baby, dying])
    admitted = _skip_gap(np.concatenate([admitted, baby_at, dying_at]))
    n = len(stream)
    admitted_day = admitted.astype("datetime64[D]")
    age = _age_years(world, person, admitted_day)

    def of(*names: str) -> np.ndarray:
        return np.isin(stream, [STREAM_INDEX[name] for name in names])

    # Clinical stay: whole days from admission to the discharge ready date (0: same day).
    days = np.zeros(n, int)
    part = of("emergency_adult")
    zero_share = np.where(age < 65, 0.40, np.where(age < 80, 0.25, 0.15))[part]
    median = np.where(age < 65, 2.2, np.where(age < 80, 4.0, 7.0))[part]
    days[part] = np.where(
        rng.random(part.sum()) < zero_share, 0, _lognormal_days(rng, median, 0.95, part.sum())
    )
    part = of("emergency_child")
    days[part] = np.where(
        rng.random(part.sum()) < 0.45, 0, _lognormal_days(rng, 1.5, 0.7, part.sum())
    )
    for name, median, sigma in (
        ("elective_ordinary", 2.5, 0.7),
        ("mental_health", 12, 0.8),
        ("critical_care", 6, 0.8),
        ("transfer_in", 6, 0.9),
    ):
        part = of(name)
        days[part] = _lognormal_days(rng, median, sigma, part.sum())
    part = of("maternity")
    days[part] = rng.choice(6, size=part.sum(), p=[0.30, 0.35, 0.20, 0.08, 0.04, 0.03])
    part = of("birth")
    days[part] = rng.choice(4, size=part.sum(), p=[0.35, 0.40, 0.15, 0.10])

    # Discharge pathways, for adults in general and acute beds who stay a night.
    adult_acute = of("emergency_adult", "elective_ordinary", "transfer_in", "terminal")
    eligible = (of("emergency_adult", "transfer_in") & (days >= 1)) | of("elective_ordinary")
    need = np.zeros(n)
    for from_age, share in PATHWAY_NEED:
        need[age >= from_age] = share
    need[of("elective_ordinary")] = 0.02
    needs = eligible & (rng.random(n) < need)
    pathway = np.where(eligible, 0, -1)
    pathway[needs] = 1 + rng.choice(3, size=needs.sum(), p=PATHWAY_MIX)
    days = np.minimum(np.where(needs, np.rint(days * SUPPORT_STAY).astype(int), days), 150)
    ready_date = admitted_day + days.astype("timedelta64[D]")

    # Delay from the discharge ready date to discharge, in whole days; longer in winter
    # and in the years delays were worst.
    delay = np.zeros(n, int)
    waits = (pathway == 0) & (rng.random(n) < P0_DELAYED)
    delay[waits] = rng.geometric(0.55, waits.sum())
    year = _years(ready_date.astype("datetime64[M]") - np.timedelta64(3, "M"))  # April-March
    factor = np.array([DELAY_YEAR.get(int(y), 1.0) for y in year]) * _season(
        ready_date, DELAY_WINTER, 15
    )
    for path, median_delay in DELAY_MEDIAN.items():
        part = pathway == path
        spread = np.exp(DELAY_SIGMA * rng.standard_normal(part.sum()))
        delay[part] = np.rint(median_delay * factor[part] * spread).astype(int)
    board_round = rng.random(n) < BOARD_ROUND_FIRST

    # Discharge on the clock: same-day stays some hours after admission, others at a
    # discharge hour; a third of times are typed later and fall on the hour.
    same_day = np.where(
        of("elective_day_case"), rng.integers(120, 420, n), rng.integers(120, 600, n)
    )
    leave = _clock_minutes(rng, "discharge", n).astype(int)
    leave = np.where(rng.random(n) < 0.3, leave // 60 * 60, leave).astype("timedelta64[m]")
    leave_day = ready_date + delay.astype("timedelta64[D]")
    discharged = np.where(
        days + delay == 0,
        admitted + same_day.astype("timedelta64[m]"),
        leave_day.astype("datetime64[m]") + leave,
    )
    discharged = _skip_gap(np.maximum(discharged, admitted + np.timedelta64(10, "m")))

    # Deaths: final admissions, and any stay that reaches the death date, end in death.
    death = world.death_dates[person]
    died = of("terminal") | (~np.isnat(death) & (discharged.astype("datetime64[D]") >= death))
    death_at = death.astype("datetime64[m]") + _clock_minutes(rng, "flat", n)
    end_of_day = admitted_day.astype("datetime64[m]") + np.timedelta64(1439, "m")
    later_that_day = admitted + ((end_of_day - admitted).astype(int) * rng.random(n)).astype(
        int
    ).astype("timedelta64[m]")
    death_at = np.where(death == admitted_day, later_that_day, death_at)
    discharged = np.where(died, _skip_gap(np.maximum(death_at, admitted)), discharged)
    open_at_end = discharged >= np.datetime64(world.end + timedelta(days=1), "m")
    discharged[open_at_end] = np.datetime64("NaT")
    died &= ~open_at_end

    keep = ~_overlapping(person, admitted, discharged)

    # Codes.
    method = np.full(n, "21", dtype=object)
    emergency = {"21": 72, "22": 7, "23": 1, "24": 4, "2A": 2, "2B": 2, "2D": 12}
    for names, options in (
        (("emergency_adult", "critical_care", "terminal"), emergency),
        (("emergency_child",), {"21": 80, "22": 10, "2D": 10}),
        (("elective_day_case", "elective_ordinary"), {"11": 70, "12": 20, "13": 10}),
        (("maternity",), {"31": 90, "32": 10}),
        (("mental_health",), {"21": 50, "25": 50}),
        (("transfer_in",), {"81": 1}),
        (("birth",), {"82": 1}),
    ):
        part = of(*names)
        method[part] = _choose(rng, options, part.sum())

    # Admission source: usual residence, except older people from care homes (under-
    # recorded, as the contract's caveat says), transfers and babies born here.
    source = np.full(n, "19", dtype=object)
    care_home = _choose(rng, {"85": 8, "54": 1, "65": 1, "19": 90}, n)
    from_care_home = of("emergency_adult", "terminal") & (
        (age >= 85) | ((age >= 75) & (rng.random(n) < 0.5))
    )
    source[from_care_home] = care_home[from_care_home]
    source[np.isin(method, ["2B", "81"])] = "51"
    source[of("birth")] = "79"

    main = np.empty(n, dtype=object)
    function = np.empty(n, dtype=object)
    for name, table in SPECIALTIES.items():
        part = of(name)
        picked = _choose(rng, {(m, f): w for m, f, w in table}, part.sum())
        main[part] = [pair[0] for pair in picked]
        function[part] = [pair[1] for pair in picked]
    # Geriatric medicine takes a growing share of older people's emergency admissions.
    geriatric_share = np.select([age >= 85, age >= 75, age >= 65], [0.6, 0.45, 0.2], 0.0)
    geriatric = of("emergency_adult") & (rng.random(n) < geriatric_share)
    main[geriatric] = function[geriatric] = "430"
    misplaced = (world.sexes[person] == "1") & np.isin(main, list(WOMEN_ONLY_SPECIALTIES))
    main[misplaced] = function[misplaced] = "300"

    bed = np.full(n, "adult_general_acute", dtype=object)
    bed[of("emergency_child", "critical_care", "birth")] = "other"
    bed[of("maternity")] = "maternity"
    bed[of("mental_health")] = "mental_health"

    # Discharge method and destination: home mostly; care homes for pathway 3 and for
    # residents returning; community beds for pathway 2 (often recorded as home).
    pathway[died] = -1
    discharge_method = np.where(died, "4", "1").astype(object)
    self_discharge = of("emergency_adult") & (pathway == 0) & (rng.random(n) < 0.012)
    discharge_method[self_discharge] = "2"
    destination = np.full(n, "19", dtype=object)
    for path, options in ((3, {"85": 80, "65": 10, "54": 10}), (2, {"51": 50, "85": 20, "19": 30})):
        part = pathway == path
        destination[part] = _choose(rng, options, part.sum())
    returning = np.isin(source, ["54", "65", "85"]) & (pathway <= 0)
    destination[returning] = source[returning]
    onward = of("emergency_adult") & (pathway == 0) & ~returning
    destination[onward & (rng.random(n) < 0.015)] = "51"  # to another hospital
    destination[onward & (rng.random(n) < 0.01)] = "29"  # temporary residence
    destination[died] = "79"
    # The pathway is often left blank for pathway 0 (the contract's caveat).
    pathway_recorded = ((pathway > 0) | ((pathway == 0) & (rng.random(n) < 0.5))) & ~np.isnat(
        discharged
    )

    # Readiness: not meeting the criteria to reside from the ready date (or the next
    # morning, if declared after the board round) until discharge; never for same-day
    # stays, those who die, or those outside adult general and acute beds.
    never = died | (days == 0) | ~adult_acute | (pathway < 0)
    not_reside_from = ready_date + np.where(board_round, 0, 1).astype("timedelta64[D]")
    not_reside_from[never] = np.datetime64("NaT")
    ready_date[never] = np.datetime64("NaT")
    reason_draw = rng.random(n)
    site_known = rng.random(n) > 0.01
    lsoa_known = rng.random(n) > 0.01

    order = np.lexsort((rng.random(n), admitted))
    order = order[keep[order]]
    return _Spells(
        spell_id=np.char.add("SP", np.char.zfill(np.arange(1, len(order) + 1).astype(str), 8)),
        person=person[order],
        admitted=admitted[order],
        discharged=discharged[order],
        admission_method=method[order],
        admission_source=source[order],
        discharge_method=discharge_method[order],
        discharge_destination=destination[order],
        main_specialty=main[order],
        treatment_function=function[order],
        pathway=pathway[order],
        pathway_recorded=pathway_recorded[order],
        bed_type=bed[order],
        ready_date=ready_date[order],
        not_reside_from=not_reside_from[order],
        reason_draw=reason_draw[order],
        site_known=site_known[order],
        lsoa_known=lsoa_known[order],
    )


def _age_years(world: World, person: np.ndarray, days: np.ndarray) -> np.ndarray:
    return (days.astype("datetime64[D]") - world.birth_dates[person]).astype(int) / 365.25


def _overlapping(person: np.ndarray, admitted: np.ndarray, discharged: np.ndarray) -> np.ndarray:
    """Spells admitted before an earlier spell of the same person ended (one at a time)."""
    order = np.lexsort((admitted, person))
    far = np.datetime64("2200-01-01", "m").astype(np.int64)
    ends = np.where(np.isnat(discharged), far, discharged.astype(np.int64))[order]
    who = person[order].astype(np.int64) * (far + 1)
    latest_end = np.concatenate([[-1], np.maximum.accumulate(who + ends)[:-1]])
    overlapping = np.zeros(len(person), bool)
    overlapping[order] = who + admitted.astype(np.int64)[order] <= latest_end
    return overlapping


# --- Tables ------------------------------------------------------------------------------


def _spells_table(world: World, spells: _Spells) -> pa.Table:
    chosen = spells.admitted >= np.datetime64(world.start, "m")
    s = {name: value[chosen] for name, value in vars(spells).items()}
    count = int(chosen.sum())
    closed = ~np.isnat(s["discharged"])
    lsoa = world.lsoa_codes[world.lsoa_index[s["person"]]]
    return pa.table(
        {
            "spell_id": s["spell_id"],
            "nhs_number": world.nhs_numbers[s["person"]],
            "provider_code": np.full(count, PROVIDER),
            "site_code": pa.array(np.where(s["site_known"], SITE, None), pa.string()),
            "admitted_at": _clock_text(s["admitted"]),
            "discharged_at": _clock_text(s["discharged"]),
            "admission_method": pa.array(s["admission_method"], pa.string()),
            "admission_source": pa.array(s["admission_source"], pa.string()),
            "discharge_method": pa.array(
                np.where(closed, s["discharge_method"], None), pa.string()
            ),
            "discharge_destination": pa.array(
                np.where(closed, s["discharge_destination"], None), pa.string()
            ),
            "main_specialty": pa.array(s["main_specialty"], pa.string()),
            "treatment_function": pa.array(s["treatment_function"], pa.string()),
            "discharge_pathway": pa.array(
                np.where(s["pathway_recorded"], s["pathway"].astype(str), None), pa.string()
            ),
            "bed_type": pa.array(s["bed_type"], pa.string()),
            "lsoa_2021": pa.array(np.where(s["lsoa_known"], lsoa, None), pa.string()),
        }
    )


SNAPSHOT_MINUTE = 9 * 60 + 30


def _readiness_table(world: World, spells: _Spells) -> pa.Table:
    """One row per adult general and acute inpatient who stays a night, per 09:30 snapshot."""
    start, end = np.datetime64(world.start, "D"), np.datetime64(world.end, "D")
    admitted_day = spells.admitted.astype("datetime64[D]")
    discharged_day = spells.discharged.astype("datetime64[D]")
    is_open = np.isnat(spells.discharged)
    admitted_minute = (spells.admitted - admitted_day).astype(int)
    discharged_minute = np.where(is_open, 0, (spells.discharged - discharged_day).astype(int))
    first = admitted_day + (admitted_minute > SNAPSHOT_MINUTE).astype("timedelta64[D]")
    last = np.where(
        is_open,
        end,
        discharged_day - (discharged_minute <= SNAPSHOT_MINUTE).astype("timedelta64[D]"),
    )
    first, last = np.maximum(first, start), np.minimum(last, end)
    in_scope = (spells.bed_type == "adult_general_acute") & (
        is_open | (discharged_day > admitted_day)
    )
    rows = np.where(in_scope, np.maximum((last - first).astype(int) + 1, 0), 0)
    spell = np.repeat(np.arange(len(rows)), rows)
    day = first[spell] + (np.arange(rows.sum()) - np.repeat(np.cumsum(rows) - rows, rows)).astype(
        "timedelta64[D]"
    )
    from_day = spells.not_reside_from[spell]
    not_reside = ~np.isnat(from_day) & (day >= from_day)
    pathway = spells.pathway[spell]

    reason = np.full(len(day), None, dtype=object)
    draw = spells.reason_draw[spell]
    for since, until, reasons in (
        (SPEC_2022, SPEC_2024, REASONS_2022),
        (SPEC_2024, end + 1, REASONS_2024),
    ):
        for path, options in reasons.items():
            part = not_reside & (pathway == path) & (day >= since) & (day < until)
            keys = np.empty(len(options), dtype=object)
            keys[:] = list(options)
            cumulative = np.cumsum(list(options.values())) / sum(options.values())
            reason[part] = keys[np.searchsorted(cumulative, draw[part], side="right")]

    day_text = _date_text(day)
    ready_text = _date_text(np.where(not_reside, spells.ready_date[spell], np.datetime64("NaT")))
    return pa.table(
        {
            "snapshot_date": day_text,
            "snapshot_taken_at": pc.binary_join_element_wise(day_text, " 09:30", ""),
            "spell_id": spells.spell_id[spell],
            "nhs_number": world.nhs_numbers[spells.person[spell]],
            "provider_code": np.full(len(day), PROVIDER),
            "meets_criteria_to_reside": np.where(not_reside, "N", "Y"),
            "discharge_ready_date": ready_text,
            "discharge_pathway": pa.array(
                np.where(not_reside, pathway.astype(str), None), pa.string()
            ),
            "delay_reason": pa.array(reason, pa.string()),
        }
    )


def acute_spells(world: World, rng: np.random.Generator, scale: float) -> pa.Table:
    """Spells at MKUH admitted from world.start to world.end; see the module's note."""
    return _spells_table(world, _spells(world, rng, scale))


def discharge_readiness(world: World, rng: np.random.Generator, scale: float) -> pa.Table:
    """Daily 09:30 snapshots of adult inpatients, from the same spells as `acute_spells`
    for a generator of the same seed."""
    return _readiness_table(world, _spells(world, rng, scale))


def ambulance_arrivals(world: World, rng: np.random.Generator, scale: float) -> pa.Table:
    """Ambulances arriving at MKUH with a resident, in real time across clock changes."""
    hour = np.timedelta64(60, "m")
    first = local_to_utc(np.array([np.datetime64(world.start, "m")]))[0]
    after = local_to_utc(np.array([np.datetime64(world.end + timedelta(days=1), "m")]))[0]
    hours = np.arange(first, after, hour)
    local, _ = utc_to_local(hours)
    local_day = local.astype("datetime64[D]")
    local_hour = (local - local_day.astype("datetime64[m]")).astype(int) // 60
    weights = np.array(HOURS["ambulance"], float)
    week = np.array(WEEKDAYS["emergency"])
    weekday = (local_day - np.datetime64("1970-01-05")).astype(int) % 7
    expected = (
        AMBULANCE_ARRIVALS * scale / 365.25
        * _season(local_day, WINTER_ADULT, 15)
        * week[weekday] / week.mean()
        * _covid(local_day, "ambulance")
        * weights[local_hour] / weights.sum()
    )  # fmt: skip
    counts = rng.poisson(expected)
    arrived = np.repeat(hours, counts) + rng.integers(0, 60, counts.sum()).astype("timedelta64[m]")
    arrived.sort()
    arrived_local, arrived_second = utc_to_local(arrived)
    arrived_day = arrived_local.astype("datetime64[D]")
    person = _pick_people(
        world, rng, arrived_day, "ambulance", (0, 110), deprivation=0.6,
        older_winter=WINTER_ADULT_OLDER, peak_day=15,
    )  # fmt: skip
    found = person >= 0
    arrived, arrived_local, arrived_second, arrived_day, person = (
        arrived[found], arrived_local[found], arrived_second[found], arrived_day[found],
        person[found],
    )  # fmt: skip
    count = len(arrived)

    # Handover minutes (TARGETS[5:8]): lognormal, its log mean rising towards a winter peak
    # and on busy days.
    days = np.unique(arrived_day)
    busy = rng.normal(0, HANDOVER_DAY_SIGMA, len(days))[np.searchsorted(days, arrived_day)]
    winter_start_year = _years(arrived_day.astype("datetime64[M]") - np.timedelta64(6, "M"))
    bad_winter = np.zeros(count)
    for year, shift in HANDOVER_WINTER_YEAR.items():
        in_winter = (winter_start_year == year) & (
            np.isin(arrived_day.astype("datetime64[M]").astype(int) % 12, [10, 11, 0, 1, 2])
        )
        bad_winter[in_winter] = shift
    log_minutes = (
        HANDOVER_MEAN
        + HANDOVER_WINTER
        * np.cos(2 * np.pi * (_day_of_year(arrived_day) - HANDOVER_PEAK_DAY) / 365.25)
        + busy
        + bad_winter
        + HANDOVER_SIGMA * rng.standard_normal(count)
    )
    minutes = np.clip(np.rint(np.exp(log_minutes)), 2, 600).astype(int)
    handed = arrived + minutes.astype("timedelta64[m]")
    handed_local, handed_second = utc_to_local(handed)
    unknown = rng.random(count) < HANDOVER_UNKNOWN
    handed_local[unknown] = np.datetime64("NaT")
    identified = rng.random(count) >= UNIDENTIFIED
    return pa.table(
        {
            "arrival_id": np.char.add("AMB", np.char.zfill(np.arange(1, count + 1).astype(str), 8)),
            "nhs_number": pa.array(
                np.where(identified, world.nhs_numbers[person], None), pa.string()
            ),
            "conveying_service": pa.array(_choose(rng, SERVICES, count), pa.string()),
            "site_code": np.full(count, SITE),
            "arrived_at": _clock_text(arrived_local, arrived_second),
            "handed_over_at": _clock_text(handed_local, handed_second & ~unknown),
        }
    )


def hospital(world: World, rng: np.random.Generator, scale: float) -> dict[str, pa.Table]:
    """All three tables, spells built once; each equals its own generator's table for a
    generator of the same seed (the ambulances use a copy of `rng`, untouched)."""
    ambulance_rng = copy.deepcopy(rng)
    spells = _spells(world, rng, scale)
    return {
        "acute_spells": _spells_table(world, spells),
        "discharge_readiness": _readiness_table(world, spells),
        "ambulance_arrivals": ambulance_arrivals(world, ambulance_rng, scale),
    }
