"""Children's and adults' weight in the synthetic Milton Keynes, as contract files.

`child_measurements` is the National Child Measurement Programme (NCMP) as Milton Keynes
City Council would send it: Reception and Year 6 children measured in school each academic
year. Each child's BMI SDS is drawn so that overweight and obesity by school year, academic
year and deprivation match published figures, then turned into a height and a weight with
the UK90 reference (rcpchgrowth 4.6.5) and Cole's LMS formula, so that a measure computing
centiles from height, weight, sex and age gets the calibrated figures back.

`adult_bmi` is BMI recorded in GP records and by a weight management service, drawn from a
distribution like England's adults (Health Survey for England 2021).
"""

from __future__ import annotations

from datetime import date
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.special import ndtr, ndtri

from mkdeal.datasets.definitions.adult_bmi import ADULT_BMI
from mkdeal.datasets.definitions.child_measurements import CHILD_MEASUREMENTS
from mkdeal.synth.population import World
from mkdeal.synth.targets import Target
from mkdeal.synth.text import dates_text, ids_text

# --- Calibration targets ----------------------------------------------------------------

# BMI at or above the 85th UK90 centile is overweight including obesity, at or above the
# 95th obesity: the population monitoring thresholds NCMP uses.
OVERWEIGHT_SDS = float(ndtri(0.85))
OBESE_SDS = float(ndtri(0.95))

TARGETS: list[Target] = [
    Target(
        "Year 6 overweight including obesity, 2023/24",
        36.0,
        2.0,
        "%",
        "Milton Keynes",
        "NHS England, National Child Measurement Programme, England, 2023/24 school year "
        "(local authority tables; OHID Obesity Profile, November 2024)",
    ),
    Target(
        "Year 6 obesity, 2023/24",
        22.0,
        2.0,
        "%",
        "Milton Keynes",
        "NHS England, National Child Measurement Programme, England, 2023/24 school year "
        "(local authority tables; OHID Obesity Profile, November 2024)",
    ),
    Target(
        "Reception overweight including obesity, 2023/24",
        22.0,
        2.0,
        "%",
        "England",
        "NHS England, National Child Measurement Programme, England, 2023/24 school year, "
        "part 1 (12.4% overweight and 9.6% living with obesity)",
    ),
    Target(
        "Year 6 overweight including obesity, most deprived decile (all years pooled)",
        42.0,
        4.0,
        "%",
        "England",
        "NHS Digital, National Child Measurement Programme, England, 2019/20 school year, "
        "part 4: deprivation (42.0% in the most deprived decile by child postcode)",
    ),
    Target(
        "Year 6 overweight including obesity, least deprived decile (all years pooled)",
        25.0,
        4.0,
        "%",
        "England",
        "NHS Digital, National Child Measurement Programme, England, 2019/20 school year, "
        "part 4: deprivation (24.9% in the least deprived decile by child postcode)",
    ),
    Target(
        "Children measured a year, Reception and Year 6 (years not affected by COVID-19)",
        8_000,
        800,
        "measurements a year",
        "Milton Keynes",
        "The issue's figure for Milton Keynes' NCMP (about 4,000 in each year group)",
    ),
    Target(
        "Adults obese (BMI 30 or more), latest GP-recorded BMI in 2023/24",
        26.0,
        2.0,
        "%",
        "England",
        "NHS Digital, Health Survey for England 2021, overweight and obesity in adults",
    ),
    Target(
        "Adults overweight including obese (BMI 25 or more), latest GP-recorded BMI in 2023/24",
        64.0,
        2.0,
        "%",
        "England",
        "NHS Digital, Health Survey for England 2021 (69% of men and 59% of women)",
    ),
    Target(
        "Adults obese in the most deprived fifth of areas (deciles 1 and 2), 2023/24",
        34.0,
        3.0,
        "%",
        "England",
        "NHS Digital, Health Survey for England 2021 (34% in the most deprived quintile)",
    ),
    Target(
        "Adults obese in the least deprived fifth of areas (deciles 9 and 10), 2023/24",
        20.0,
        3.0,
        "%",
        "England",
        "NHS Digital, Health Survey for England 2021 (20% in the least deprived quintile)",
    ),
    Target(
        "Adult BMI recordings a year",
        64_000,
        6_400,
        "rows a year",
        "Milton Keynes",
        "Assumption: about 60,000 GP recordings a year (a quarter of Milton Keynes' ~225,000 "
        "adults, more often the old) and about 4,000 by the weight management service",
    ),
]

# --- NCMP: volumes, schools and dates ---------------------------------------------------

# About 8,000 children measured a year, 4,000 in each year group (the Milton Keynes
# figure). Children come from the world's residents of the right age; where the world's
# cohort is smaller, pupils who live outside Milton Keynes (NCMP counts children by school)
# fill the year group, with no NHS number or home area.
PER_YEAR_GROUP = 4_000
# NCMP participation is about 95% nationally (absence, parents withdrawing); an assumption.
PARTICIPATION = 0.96
# Schools: synthetic URNs 900001 up (no real school has them). Milton Keynes has about 90
# state primary schools, some independent and special schools (an approximation).
STATE_SCHOOLS, INDEPENDENT_SCHOOLS, SPECIAL_SCHOOLS = 92, 10, 5
SHARE_INDEPENDENT, SHARE_SPECIAL = 0.05, 0.015  # of pupils; an approximation

# COVID-19: schools closed on 20 March 2020 and no NCMP measurements were taken after it in
# 2019/20 (NHS Digital, NCMP 2019/20, data quality statement), so schools whose visit fell
# later were never measured. In 2020/21 only a small sample was collected nationally;
# assumed here: about one school in eight, measured after schools reopened (from Easter
# 2021 to the end of June).
COVID_STOP = np.datetime64("2020-03-20", "D")
COVID_YEAR = 2020  # the academic year 2020/21 (it starts in September 2020)
COVID_SCHOOLS_MEASURED = 0.12
COVID_WINDOW = (np.datetime64("2021-04-19", "D"), np.datetime64("2021-06-30", "D"))

# Overweight including obesity by academic year (keyed by the year it starts in). 2023/24
# is the target (Milton Keynes Year 6, 36%; Reception near England's 22%); other years
# move with England's published series (NCMP, England: Year 6 34.3% 2018/19, 35.2%
# 2019/20, 40.9% 2020/21, 37.8% 2021/22, 36.6% 2022/23, 35.8% 2023/24; Reception 22.6%,
# 23.0%, 27.7%, 22.3%, 21.3%, 22.0%). Later years are assumed level with 2023/24.
ENGLAND_OVERWEIGHT = {
    "R": {2018: 22.6, 2019: 23.0, 2020: 27.7, 2021: 22.3, 2022: 21.3, 2023: 22.0},
    "Y6": {2018: 34.3, 2019: 35.2, 2020: 40.9, 2021: 37.8, 2022: 36.6, 2023: 35.8},
}
LEVEL_2023 = {"R": 22.0, "Y6": 36.0}

# The BMI SDS model: z ~ N(a + b * x(decile) + sex shift, sigma), x = ((10 - decile)/9)^k
# (1 in the most deprived decile, 0 in the least). b, sigma and k were solved offline with
# Milton Keynes' decile mix (population.DECILE_SHARES) so that, for Year 6 in 2023/24,
# overweight including obesity is 36% and obesity 22% (Milton Keynes) with 42% in the most
# deprived decile against 25% in the least (England, 2019/20, a 17-point gap); for
# Reception, 22.0% and 9.6% (England, 2023/24) with an assumed 9-point gap (England's
# Reception obesity ran 13.3% against 6.0% in 2019/20). The gradient is concave: with Milton
# Keynes less deprived than England, its 36% and England's decile figures fit together only
# if most of the drop comes in the least deprived deciles. The intercept a is solved for
# each academic year and year group on the children actually measured.
BMI_MODEL = {"R": (0.36, 1.1386), "Y6": (0.6868, 1.4592)}  # (b, sigma)
GRADIENT_POWER = 0.45
# Boys are heavier than girls in Year 6 (England 2019/20 obesity 23.6% against 18.4%),
# scarcely in Reception; shifts in SDS, an approximation.
SEX_SHIFT = {"R": 0.02, "Y6": 0.12}
# Height and BMI SDS are mildly correlated in childhood (an approximation).
HEIGHT_BMI_CORRELATION = 0.2

ETHNICITY_MISSING = 0.12  # school records often lack it (the contract's caveat)
NHS_NUMBER_MISSING = 0.02
POSTCODE_MISSING = 0.03


def _tenths_text(values: np.ndarray) -> pa.Array:
    """Non-negative numbers as text with one decimal place ("31.4", "9.0"), quickly."""
    tenths = np.round(np.asarray(values, float) * 10).astype(np.int64)
    whole = pc.cast(pa.array(tenths // 10), pa.string())
    return pc.binary_join_element_wise(whole, pc.cast(pa.array(tenths % 10), pa.string()), ".")


def _blank_where(mask: np.ndarray, text: pa.Array) -> pa.Array:
    return pc.if_else(pa.array(mask), pa.nulls(len(text), pa.string()), text)


@cache
def _lms_tables() -> tuple[np.ndarray, dict[tuple[str, str], np.ndarray]]:
    """UK90 L, M and S for height and BMI, by sex, on a grid of ages 4 to 12.5 years.

    Built once with rcpchgrowth's own interpolation (cubic between its monthly points), so
    linear interpolation on this finer grid stays within rounding of rcpchgrowth per child.
    """
    from rcpchgrowth.constants import BMI, FEMALE, HEIGHT, MALE, UK_WHO
    from rcpchgrowth.global_functions import (
        fetch_lms,
        lms_value_array_for_measurement_for_reference,
    )

    ages = np.round(np.arange(4.0, 12.5 + 1e-9, 1 / 120), 6)
    tables = {}
    for sex_code, sex in (("1", MALE), ("2", FEMALE)):
        for method in (HEIGHT, BMI):
            # Every age here uses the UK90 child reference (4 to 20 years) within UK-WHO.
            reference = lms_value_array_for_measurement_for_reference(UK_WHO, 8.0, method, sex)
            rows = [fetch_lms(float(age), reference) for age in ages]
            tables[(sex_code, method)] = np.array([[r["l"], r["m"], r["s"]] for r in rows]).T
    return ages, tables


def _from_sds(sds: np.ndarray, ages: np.ndarray, sexes: np.ndarray, method: str) -> np.ndarray:
    """Cole's LMS formula, X = M (1 + L S z)^(1/L), with L, M and S interpolated by age."""
    grid, tables = _lms_tables()
    value = np.empty(len(sds))
    for sex in ("1", "2"):
        chosen = sexes == sex
        box_cox, median, variation = (
            np.interp(ages[chosen], grid, row) for row in tables[(sex, method)]
        )
        value[chosen] = median * (1 + box_cox * variation * sds[chosen]) ** (1 / box_cox)
    return value


def _school_days(year: int) -> np.ndarray:
    """Weekdays from mid-September to the end of June of the academic year starting in
    `year`, without the usual holidays (approximate dates: October half term, Christmas,
    February half term, two weeks around Easter, May half term)."""
    days = np.arange(np.datetime64(f"{year}-09-15"), np.datetime64(f"{year + 1}-07-01"))
    weekday = (days.astype(int) + 3) % 7  # 0 Monday
    holidays = [
        (f"{year}-10-24", f"{year}-11-02"),
        (f"{year}-12-20", f"{year + 1}-01-05"),
        (f"{year + 1}-02-14", f"{year + 1}-02-23"),
        (f"{year + 1}-04-01", f"{year + 1}-04-15"),
        (f"{year + 1}-05-25", f"{year + 1}-06-01"),
    ]
    keep = weekday < 5
    for first, last in holidays:
        keep &= (days < np.datetime64(first)) | (days > np.datetime64(last))
    return days[keep]


def _solve_intercept(shift: np.ndarray, sigma: float, share: float) -> float:
    """The a for which the mean of P(z >= 85th centile SDS) over children is `share`."""
    low, high = -4.0, 4.0
    for _ in range(60):
        middle = (low + high) / 2
        if ndtr((middle + shift - OVERWEIGHT_SDS) / sigma).mean() < share:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _overweight_share(group: str, year: int) -> float:
    england = ENGLAND_OVERWEIGHT[group]
    level = england.get(year, england[2023])
    return (LEVEL_2023[group] + level - england[2023]) / 100


_COLUMNS = [column.name for column in CHILD_MEASUREMENTS.columns]


def child_measurements(world: World, rng: np.random.Generator, scale: float) -> pa.Table:
    """NCMP measurements of Reception and Year 6 children, one row per child measured."""
    start, end = np.datetime64(world.start, "D"), np.datetime64(world.end, "D")
    schools = STATE_SCHOOLS + INDEPENDENT_SCHOOLS + SPECIAL_SCHOOLS
    urns = np.char.mod("%06d", 900_001 + np.arange(schools))
    school_types = np.repeat(
        ["state_maintained_mainstream", "independent", "special"],
        [STATE_SCHOOLS, INDEPENDENT_SCHOOLS, SPECIAL_SCHOOLS],
    )
    # Most children go to a state school serving their area.
    local_school = rng.integers(0, STATE_SCHOOLS, size=len(world.lsoa_codes))
    all_deciles = world.deciles()
    parts: list[dict[str, np.ndarray]] = []
    for year in range(world.start.year - 1, world.end.year + 1):
        days = _school_days(year)
        if days[-1] < start or days[0] > end:
            continue
        visits = days[rng.integers(0, len(days), size=schools)]
        visited = np.ones(schools, dtype=bool)
        if year == COVID_YEAR:
            late = days[(days >= COVID_WINDOW[0]) & (days <= COVID_WINDOW[1])]
            visits = late[rng.integers(0, len(late), size=schools)]
            visited = rng.random(schools) < COVID_SCHOOLS_MEASURED
        if year == COVID_YEAR - 1:
            visited &= visits <= COVID_STOP
        for group, age in (("R", 4), ("Y6", 10)):
            # Aged `age` on 31 August before the academic year.
            born_from = np.datetime64(f"{year - age - 1}-09-01", "D")
            born_to = np.datetime64(f"{year - age}-08-31", "D")
            cohort = np.flatnonzero(
                (world.birth_dates >= born_from) & (world.birth_dates <= born_to)
            )
            wanted = rng.poisson(PER_YEAR_GROUP * scale)
            outsiders = max(0, round(wanted / PARTICIPATION) - len(cohort))
            people = np.concatenate([cohort, np.full(outsiders, -1)])
            resident = people >= 0
            count = len(people)
            born = np.where(
                resident,
                world.birth_dates[np.maximum(people, 0)],
                born_from + rng.integers(0, int((born_to - born_from).astype(int)) + 1, count),
            )
            area = np.where(
                resident,
                world.lsoa_index[np.maximum(people, 0)],
                -1,
            )
            pick = rng.random(count)
            school = np.where(
                pick < SHARE_INDEPENDENT,
                STATE_SCHOOLS + rng.integers(0, INDEPENDENT_SCHOOLS, count),
                np.where(
                    pick < SHARE_INDEPENDENT + SHARE_SPECIAL,
                    STATE_SCHOOLS + INDEPENDENT_SCHOOLS + rng.integers(0, SPECIAL_SCHOOLS, count),
                    np.where(
                        (rng.random(count) < 0.85) & resident,
                        local_school[np.maximum(area, 0)],
                        rng.integers(0, STATE_SCHOOLS, count),
                    ),
                ),
            )
            measured_on = visits[school]
            death = world.death_dates[np.maximum(people, 0)]
            alive = ~resident | np.isnat(death) | (death > measured_on)
            keep = (
                visited[school]
                & alive
                & (rng.random(count) < PARTICIPATION)
                & (measured_on >= start)
                & (measured_on <= end)
            )
            # Deprivation of children with no home area here: drawn from the measured
            # residents' own mix.
            decile = np.where(resident, all_deciles[np.maximum(people, 0)], 0)
            known = decile[resident & keep]
            if len(known):
                decile = np.where(resident, decile, rng.choice(known, size=count))
            else:
                decile = np.where(resident, decile, rng.integers(1, 11, count))
            parts.append(
                {
                    "group": np.full(keep.sum(), group),
                    "year": np.full(keep.sum(), year),
                    "person": people[keep],
                    "born": born[keep],
                    "area": area[keep],
                    "decile": decile[keep],
                    "school": school[keep],
                    "measured_on": measured_on[keep],
                }
            )
    if not parts:  # a period within the summer holidays: nobody measured
        return pa.table({name: pa.array([], pa.string()) for name in _COLUMNS})
    rows = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    count = len(rows["person"])
    if count == 0:
        return pa.table({name: pa.array([], pa.string()) for name in _COLUMNS})
    resident = rows["person"] >= 0
    person = np.maximum(rows["person"], 0)
    sexes = np.where(resident, world.sexes[person], np.where(rng.random(count) < 0.51, "1", "2"))

    # BMI SDS, calibrated within each academic year and year group (see BMI_MODEL).
    mean = np.zeros(count)
    sigma = np.zeros(count)
    for group in ("R", "Y6"):
        b, spread = BMI_MODEL[group]
        deprivation = ((10 - rows["decile"]) / 9) ** GRADIENT_POWER
        shift = b * deprivation + np.where(sexes == "1", SEX_SHIFT[group], -SEX_SHIFT[group])
        for year in np.unique(rows["year"]):
            chosen = (rows["group"] == group) & (rows["year"] == year)
            if chosen.any():
                a = _solve_intercept(shift[chosen], spread, _overweight_share(group, int(year)))
                mean[chosen] = a + shift[chosen]
                sigma[chosen] = spread
    noise = rng.standard_normal(count)
    bmi_sds = mean + sigma * noise
    # A softer upper tail than the normal, so no child's BMI runs past the reference's range.
    bmi_sds = np.clip(np.where(bmi_sds > 3, 3 + 0.5 * (bmi_sds - 3), bmi_sds), -3.5, 4.0)
    height_sds = np.clip(
        HEIGHT_BMI_CORRELATION * noise
        + np.sqrt(1 - HEIGHT_BMI_CORRELATION**2) * rng.standard_normal(count),
        -3.5,
        3.5,
    )
    ages = (rows["measured_on"] - rows["born"]).astype(int) / 365.25
    height = np.round(_from_sds(height_sds, ages, sexes, "height"), 1)
    weight = np.round(_from_sds(bmi_sds, ages, sexes, "bmi") * (height / 100) ** 2, 1)
    # The contract's limits (height 80-200 cm, weight 9-150 kg) hold by construction for
    # SDS within -3.5..4; clipping guards against a reference change.
    height = np.clip(height, 80.0, 200.0)
    weight = np.clip(weight, 9.0, 150.0)

    order = np.lexsort((rng.random(count), rows["measured_on"]))
    nhs = np.where(
        resident & (rng.random(count) >= NHS_NUMBER_MISSING), world.nhs_numbers[person], None
    )
    lsoa = np.where(
        resident & (rng.random(count) >= POSTCODE_MISSING),
        world.lsoa_codes[np.maximum(rows["area"], 0)],
        None,
    )
    # Pupils from outside Milton Keynes: ethnicity drawn from the residents' mix.
    others = world.ethnic_categories[rng.integers(0, world.size, count)]
    ethnic = np.where(
        rng.random(count) >= ETHNICITY_MISSING,
        np.where(resident, world.ethnic_categories[person], others),
        None,
    )
    return pa.table(
        {
            "measurement_id": pa.array(ids_text("NCMP", count), pa.string()),
            "nhs_number": pa.array(nhs[order], pa.string()),
            "measured_on": dates_text(rows["measured_on"][order]),
            "school_year": pa.array(rows["group"][order], pa.string()),
            "school_urn": pa.array(urns[rows["school"]][order], pa.string()),
            "school_type": pa.array(school_types[rows["school"]][order], pa.string()),
            "sex": pa.array(sexes[order], pa.string()),
            "date_of_birth": dates_text(rows["born"][order]),
            "ethnic_category": pa.array(ethnic[order], pa.string()),
            "height_cm": _tenths_text(height[order]),
            "weight_kg": _tenths_text(weight[order]),
            "lsoa_2021": pa.array(lsoa[order], pa.string()),
        }
    )


# --- Adult BMI --------------------------------------------------------------------------

# About 60,000 BMI recordings a year in GP records (an assumption: roughly a quarter of
# Milton Keynes' ~225,000 adults a year, from NHS Health Checks, long-term condition reviews
# and opportunistic recording). Per person, recording is more likely with age (relative
# weights by age band, an assumption).
GP_RECORDINGS_A_YEAR = 60_000
RECORDING_WEIGHTS = [(18, 1.0), (40, 1.6), (65, 2.6)]
# A tier 2/3 weight management service: about 1,300 people a year starting it (an
# assumption), adults with a BMI of 30 or more, each measured at the start, about six weeks
# and about twelve weeks, losing a few per cent of their weight.
WMS_PEOPLE_A_YEAR = 1_300
WMS_VISITS = ((0, 0.0), (42, -0.02), (84, -0.035))  # (days after start, change in log weight)

# BMI: log-normal by sex, fitted to Health Survey for England 2021 (England): 26% of adults
# obese; overweight including obese 69% of men and 59% of women, 64% overall. Solving
# P(BMI >= 30) = 0.26 and P(BMI >= 25) = 0.69 (men) / 0.59 (women) gives log-BMI means 3.2983
# and 3.2665 and spreads 0.1600 and 0.2093 (the total spread of one recording).
LOG_BMI = {"1": (3.2983, 0.1600), "2": (3.2665, 0.2093)}
# Deprivation: obesity 34% in the most deprived quintile against 20% in the least (HSE 2021,
# England); a log-BMI slope of about 0.0099 a decile gives that, centred on the world's mix.
DECILE_SLOPE = 0.0099
# One recording scatters around a person's usual BMI (weight changes, measurement): 3%.
RECORDING_SPREAD = 0.03
# How a recording is written: BMI only, BMI with height and weight, height and weight only.
FORMS = {"bmi": 0.65, "all": 0.20, "height_weight": 0.15}
# Adult height by sex in cm (HSE: men about 175, women about 162; an approximation).
HEIGHT_CM = {"1": (175.5, 7.3), "2": (162.0, 6.8)}


def _financial_years(start: date, end: date) -> list[tuple[np.datetime64, np.datetime64]]:
    first = start.year if start.month >= 4 else start.year - 1
    spans = []
    for year in range(first, end.year + 1):
        low = max(np.datetime64(f"{year}-04-01", "D"), np.datetime64(start, "D"))
        high = min(np.datetime64(f"{year + 1}-03-31", "D"), np.datetime64(end, "D"))
        if low <= high:
            spans.append((low, high))
    return spans


def _day_between(rng: np.random.Generator, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """A uniform day in [low, high] for each pair (high >= low)."""
    width = (high - low).astype(int) + 1
    return low + (rng.random(len(low)) * width).astype(int).astype("timedelta64[D]")


def adult_bmi(world: World, rng: np.random.Generator, scale: float) -> pa.Table:
    """Adults' BMI recordings: GP records and a weight management service."""
    size = world.size
    sexes = world.sexes
    deciles = world.deciles().astype(float)
    adult_day = world.birth_dates + np.timedelta64(round(18 * 365.25) + 1, "D")
    # Each person's usual BMI; the spread within a decile and a recording's scatter make
    # up the total spread fitted above.
    centre = deciles[adult_day <= np.datetime64(world.end, "D")].mean()
    log_mean = np.where(sexes == "1", LOG_BMI["1"][0], LOG_BMI["2"][0])
    total = np.where(sexes == "1", LOG_BMI["1"][1], LOG_BMI["2"][1])
    within = np.sqrt(total**2 - RECORDING_SPREAD**2 - DECILE_SLOPE**2 * deciles.var())
    usual = log_mean + DECILE_SLOPE * (centre - deciles) + within * rng.standard_normal(size)
    height_mean = np.where(sexes == "1", HEIGHT_CM["1"][0], HEIGHT_CM["2"][0])
    height_sd = np.where(sexes == "1", HEIGHT_CM["1"][1], HEIGHT_CM["2"][1])
    height = np.clip(height_mean + height_sd * rng.standard_normal(size), 140, 205)
    death = np.where(
        np.isnat(world.death_dates), np.datetime64(world.end, "D") + 1, world.death_dates
    )

    people, days, sources, changes = [], [], [], []
    for low, high in _financial_years(world.start, world.end):
        share = ((high - low).astype(int) + 1) / 365.25
        middle = low + (high - low) // 2
        age = world.ages_on(middle)
        weight = np.zeros(size)
        for lowest, relative in RECORDING_WEIGHTS:
            weight = np.where(age >= lowest, relative, weight)
        last = np.minimum(high, death - 1)
        first = np.maximum(low, adult_day)
        eligible = (weight > 0) & (first <= last)
        weight = np.where(eligible, weight, 0.0)
        count = rng.poisson(GP_RECORDINGS_A_YEAR * scale * share)
        chosen = rng.choice(size, size=count, p=weight / weight.sum())
        people.append(chosen)
        days.append(_day_between(rng, first[chosen], last[chosen]))
        sources.append(np.full(count, "gp_record"))
        changes.append(np.zeros(count))
        # Weight management: adults with a usual BMI of 30 or more starting the service.
        obese = eligible & (usual >= np.log(30))
        starters = rng.poisson(WMS_PEOPLE_A_YEAR * scale * share)
        joined = rng.choice(np.flatnonzero(obese), size=min(starters, obese.sum()), replace=False)
        began = _day_between(rng, first[joined], last[joined])
        for offset, change in WMS_VISITS:
            jitter = rng.integers(-3, 4, len(joined)) * int(offset > 0)
            on = began + np.timedelta64(offset, "D") + jitter.astype("timedelta64[D]")
            ok = (on < death[joined]) & (on <= np.datetime64(world.end, "D"))
            people.append(joined[ok])
            days.append(on[ok])
            sources.append(np.full(ok.sum(), "weight_management_service"))
            changes.append(np.full(ok.sum(), change))

    person = np.concatenate(people)
    recorded = np.concatenate(days)
    source = np.concatenate(sources)
    count = len(person)
    if count == 0:
        return pa.table({c.name: pa.array([], pa.string()) for c in ADULT_BMI.columns})
    log_bmi = (
        usual[person] + np.concatenate(changes) + RECORDING_SPREAD * rng.standard_normal(count)
    )
    bmi = np.clip(np.exp(log_bmi), 15.0, 70.0)
    height_cm = np.round(height[person] + rng.normal(0, 0.5, count), 1)
    weight_kg = np.round(bmi * (height_cm / 100) ** 2, 1)
    form = rng.choice(list(FORMS), size=count, p=list(FORMS.values()))
    form = np.where(source == "weight_management_service", "all", form)
    # BMI written from the height and weight where both are given, as a system computes it.
    bmi = np.where(form == "all", weight_kg / (height_cm / 100) ** 2, bmi)
    order = np.lexsort((rng.random(count), recorded))
    form = form[order]
    gp = source[order] == "gp_record"
    person = person[order]
    return pa.table(
        {
            "observation_id": pa.array(ids_text("OBS", count), pa.string()),
            "nhs_number": pa.array(world.nhs_numbers[person], pa.string()),
            "recorded_on": dates_text(recorded[order]),
            "bmi": _blank_where(form == "height_weight", _tenths_text(bmi[order])),
            "height_cm": _blank_where(form == "bmi", _tenths_text(height_cm[order])),
            "weight_kg": _blank_where(form == "bmi", _tenths_text(weight_kg[order])),
            "bmi_source": pa.array(source[order], pa.string()),
            "gp_practice_code": pa.array(
                np.where(gp, world.practice_codes[world.practice_index[person]], None),
                pa.string(),
            ),
        }
    )
