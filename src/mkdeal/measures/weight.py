"""The obesity priority's measures from GP records: adults living with overweight or obesity.

**Adults with overweight or obesity, GP records** (`weight.adults_overweight_or_obese`):
adults 18 and over whose latest BMI recorded in the financial year is 25 or more, over
adults with a BMI recorded in the year. This is a local measure from GP records, not the
official indicator: Fingertips 93088 ("percentage of adults classified as overweight or
obese") comes from the Active Lives survey (self-reported height and weight) and uses 25
for everyone. People with a recorded BMI are not a random sample: those weighed are more
often those with a reason to be.

**The same with NICE's lower thresholds** (`weight.adults_overweight_or_obese_nice`),
labelled apart: NICE NG246 (2025) sets overweight at 23 to 27.4 and obesity at 27.5 or
more for people of South Asian, Chinese, other Asian, Middle Eastern, Black African or
African-Caribbean family background, and 25 and 30 for everyone else. mkdeal maps the
ethnic codes as follows (the 2021-based field where the record has it, else the 2001-based
ETHNIC CATEGORY):

- lower thresholds: 2001 codes H (Indian), J (Pakistani), K (Bangladeshi), L (any other
  Asian), R (Chinese), M (Caribbean), N (African); 2021 codes asian_indian,
  asian_pakistani, asian_bangladeshi, asian_chinese, asian_other, black_caribbean,
  black_african, and other_arab (the nearest to Middle Eastern the 2021 list has);
- standard thresholds: everyone else, including Mixed backgrounds, Other Black (P), Any
  other ethnic group (S: Middle Eastern people cannot be told apart in the 2001-based
  codes, so they fall here), and not stated or not known.

"Latest in the year" makes a year's figure more than the sum of its months, so these are
published for financial years only.
"""

from __future__ import annotations

from datetime import date

import ibis

from mkdeal.measures.definition import (
    Measure,
    NationalDefinition,
    Tables,
    years_since_birth_month,
)

PRIORITY = "obesity"
LOWER_THRESHOLD_2001 = ("H", "J", "K", "L", "R", "M", "N")
LOWER_THRESHOLD_2021 = (
    "asian_indian",
    "asian_pakistani",
    "asian_bangladeshi",
    "asian_chinese",
    "asian_other",
    "black_caribbean",
    "black_african",
    "other_arab",
)
STANDARD_OVERWEIGHT, LOWER_OVERWEIGHT = 25.0, 23.0

GP_DEFINITION = NationalDefinition(
    name="Local measure from GP records, after OHID Fingertips indicator 93088 (adults "
    "classified as overweight or obese, Active Lives survey, BMI 25 or more)",
    version="Fingertips 93088 (2024 release); local GP-record form 1.0",
    url="https://fingertips.phe.org.uk/search/93088",
)
NICE_DEFINITION = NationalDefinition(
    name="NICE guideline NG246, Overweight and obesity management (2025): lower BMI "
    "thresholds for some ethnic family backgrounds",
    version="NG246 (January 2025)",
    url="https://www.nice.org.uk/guidance/ng246",
)


def _financial_year_start(day: ibis.Value) -> ibis.Value:
    year = ibis.ifelse(day.month() >= 4, day.year(), day.year() - 1)
    return ibis.date(year, 4, 1)


def latest_bmi_units(tables: Tables) -> ibis.Table:
    """One row per adult per financial year: their latest BMI recorded in that year, with
    their ethnic codes, on the date it was recorded."""
    observations = tables["adult_bmi"]
    residents = tables["residents"]
    people = residents.group_by("person_id").aggregate(
        birth_month=residents.birth_month.max(),
        ethnic_category=residents.ethnic_category.max(),
        ethnic_group_2021=residents.ethnic_group_2021.max(),
    )
    joined = observations.inner_join(people, observations.person_id == people.person_id)
    age = years_since_birth_month(joined.recorded_on, joined.birth_month)
    adults = joined.filter((age >= 18) & joined.bmi.notnull())
    year = _financial_year_start(adults.recorded_on)
    latest = ibis.window(
        group_by=[adults.person_id, year],
        order_by=[ibis.desc(adults.recorded_on), ibis.desc(adults.observation_id)],
    )
    ranked = adults.mutate(_rank=ibis.row_number().over(latest))
    chosen = ranked.filter(ranked._rank == 0)
    lower = ibis.ifelse(
        chosen.ethnic_group_2021.notnull(),
        chosen.ethnic_group_2021.isin(LOWER_THRESHOLD_2021),
        chosen.ethnic_category.isin(LOWER_THRESHOLD_2001).fill_null(False),
    )
    return chosen.select(
        when=chosen.recorded_on,
        person_id=chosen.person_id,
        bmi=chosen.bmi,
        lower_thresholds=lower,
    )


_COMMON = dict(
    priority=PRIORITY,
    value_type="proportion",
    unit="%",
    improvement="decrease",
    datasets=("adult_bmi", "residents"),
    units=latest_bmi_units,
    denominator=lambda units: units.bmi.notnull(),
    version="1.0",
    frequency="financial_year",
    frequencies=("financial_year",),
    breakdowns=("imd_decile", "imd_quintile", "age_band", "sex", "ethnic_group", "pcn"),
    written_by="mkdeal engineering (issue 21)",
    checked_by="not yet independently checked",
    next_review=date(2027, 4, 1),
)

ADULTS_OVERWEIGHT = Measure(
    id="weight.adults_overweight_or_obese",
    title="Adults with overweight or obesity (latest GP-recorded BMI of 25 or more)",
    definition=GP_DEFINITION,
    numerator=lambda units: units.bmi >= STANDARD_OVERWEIGHT,
    description=(
        "Adults 18+ whose latest BMI recorded in the financial year is 25 or more, over "
        "adults with a BMI recorded in the year. A local GP-record measure, not the "
        "survey-based official indicator (Fingertips 93088)."
    ),
    caveats=(
        "People with a recorded BMI are not a random sample of adults.",
        "Not comparable with Fingertips 93088, which is from the Active Lives survey.",
    ),
    companions=("weight.adults_overweight_or_obese_nice",),
    **_COMMON,
)
ADULTS_OVERWEIGHT_NICE = Measure(
    id="weight.adults_overweight_or_obese_nice",
    title="Adults with overweight or obesity, NICE NG246 thresholds by family background",
    definition=NICE_DEFINITION,
    numerator=lambda units: (
        units.bmi >= ibis.ifelse(units.lower_thresholds, LOWER_OVERWEIGHT, STANDARD_OVERWEIGHT)
    ),
    description=(
        "As weight.adults_overweight_or_obese, with overweight from 23 for people of South "
        "Asian, Chinese, other Asian, Middle Eastern, Black African or African-Caribbean "
        "family background (NICE NG246); the ethnic code mapping is in the module docstring."
    ),
    caveats=(
        "Middle Eastern family background cannot be told apart in the 2001-based ethnic "
        "codes; such people are counted with the standard thresholds unless their record "
        "has the 2021-based code other_arab.",
    ),
    **_COMMON,
)

MEASURES = (ADULTS_OVERWEIGHT, ADULTS_OVERWEIGHT_NICE)
