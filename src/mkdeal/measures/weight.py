"""The obesity priority's weight measures: adults from GP records, children from the NCMP.

The children's measures (`ncmp.*`: Reception and Year 6 overweight including obesity,
obesity, severe obesity) are at the end of this module; their centiles are derived when the
measurements are loaded (`mkdeal.growth`, via the child_measurements contract).

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
from functools import cache

import ibis

from mkdeal.datasets.codes import code_list
from mkdeal.deal import load_deal
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


# --- Children: the National Child Measurement Programme ------------------------------

NCMP_DEFINITION = NationalDefinition(
    name="NHS England, National Child Measurement Programme: prevalence of overweight "
    "(including obesity), obesity and severe obesity, by residence, UK90 BMI centiles "
    "(population monitoring thresholds 85th, 95th, 99.6th)",
    version="NCMP 2023/24 methods",
    url="https://fingertips.phe.org.uk/static-reports/obesity-physical-activity-nutrition/"
    "ncmp-report-methods.html",
)
# weight_category (derived at load, see child_measurements) at or above each threshold.
AT_OR_ABOVE = {
    "overweight_or_obese": ("overweight", "obese", "severely_obese"),
    "obese": ("obese", "severely_obese"),
    "severely_obese": ("severely_obese",),
}
SCHOOL_YEARS = {"R": "reception", "Y6": "year6"}


@cache
def _area_code() -> str:
    """The Deal's local authority: the packaged Deal, read once (parsing it took a
    millisecond, on every computation)."""
    return load_deal().area_code


def ncmp_units(tables: Tables) -> ibis.Table:
    """Children measured in state-maintained mainstream schools who live in the area, on
    their measurement date, with the weight category derived when they were loaded.

    Residence: the child's LSOA (2021), from the measurement record, lies in the Deal's
    local authority (`Deal.area_code`, E06000042) according to the loaded area deprivation
    data (any index version); a child measured at one of the area's schools who lives
    elsewhere is out, as NCMP figures are by residence. The same LSOA gives the child's
    deprivation decile (the engine prefers a unit's own `lsoa_2021` to the residents
    file's). Children without a z-score (sex 9 or X, or under 4) are outside the
    denominator.
    """
    children = tables["child_measurements"]
    areas = tables["area_deprivation"]
    # A semi-join keeps each child once, even for an LSOA listed under two index versions.
    areas = areas.filter(areas.local_authority_code == _area_code())
    mainstream = code_list("ncmp_school_type")
    counted = [
        c for c in mainstream.codes if mainstream.attribute(c, "in_national_figures") == "yes"
    ]
    children = children.filter(children.school_type.isin(counted))
    children = children.semi_join(areas, children.lsoa_2021 == areas.lsoa_2021)
    return children.select(
        when=children.measured_on,
        person_id=children.person_id,
        lsoa_2021=children.lsoa_2021,
        school_year=children.school_year,
        weight_category=children.weight_category,
        classified=children.bmi_sds.notnull(),
    )


def _ncmp(school_year: str, level: str, title: str) -> Measure:
    categories = AT_OR_ABOVE[level]

    def numerator(units: ibis.Table) -> ibis.Value:
        return (units.school_year == school_year) & units.weight_category.isin(categories)

    def denominator(units: ibis.Table) -> ibis.Value:
        return (units.school_year == school_year) & units.classified

    return Measure(
        id=f"ncmp.{SCHOOL_YEARS[school_year]}_{level}",
        title=title,
        priority=PRIORITY,
        value_type="proportion",
        unit="%",
        improvement="decrease",
        definition=NCMP_DEFINITION,
        datasets=("child_measurements", "area_deprivation"),
        units=ncmp_units,
        numerator=numerator,
        denominator=denominator,
        version="1.0",
        frequency="academic_year",
        frequencies=("academic_year",),
        breakdowns=("imd_decile", "imd_quintile"),
        deprivation_gap=school_year == "Y6",
        description=(
            f"{title}: children in {'Reception' if school_year == 'R' else 'Year 6'} at or "
            "above the UK90 threshold at their decimal age at measurement, over children "
            "measured with a z-score; academic years September to August."
        ),
        caveats=(
            "No z-score exclusion: |z| above 5 is flagged for review (bmi_needs_review) but "
            "counted.",
            "Whether NCMP uses exactly rcpchgrowth's 2009 reanalysis of the UK90 LMS values "
            "is unconfirmed.",
        ),
        written_by="mkdeal engineering (issue 21)",
        checked_by="not yet independently checked",
        next_review=date(2027, 4, 1),
    )


NCMP_MEASURES = tuple(
    _ncmp(year, level, f"{label} {title}")
    for year, label in (("R", "Reception"), ("Y6", "Year 6"))
    for level, title in (
        ("overweight_or_obese", "children with overweight including obesity"),
        ("obese", "children with obesity (including severe obesity)"),
        ("severely_obese", "children with severe obesity"),
    )
)

MEASURES = (*MEASURES, *NCMP_MEASURES)
