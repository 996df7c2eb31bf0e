"""Breakdowns: the person and place attributes a unit is counted by, in pure ibis.

Person breakdowns join a unit's `person_id` to the residents data (one row per person:
where a person is in more than one source's residents file, the largest value of each
attribute is taken, which is arbitrary but the same on every backend) and, through the
home LSOA, to the area deprivation data, once per `imd_version` loaded: a figure by
deprivation always names its version, and versions are never mixed. Where a measure's
units carry their own `lsoa_2021` (a child's address at an NCMP measurement), that LSOA
gives the decile instead of the residents file's.

- `imd_decile` 1 (most deprived) to 10; `imd_quintile` 1 to 5 (deciles 1-2, 3-4, ...).
- `age_band`: age at the unit's date from the birth month (whose day is not kept, so a
  person counts as a year older from the first of their birth month): 0-17, 18-64,
  65-74, 75-84, 85+.
- `sex`: PERSON STATED GENDER CODE as the source gives it (1, 2, 9, X).
- `ethnic_group`: the ONS 2021 high-level group, from the 2021-based field where the
  source has it, else from the 2001-based ETHNIC CATEGORY (R, Chinese, is Asian);
  "Not stated" (Z) and "Not known" (99) kept as groups.
- `pcn`: the Primary Care Network's ODS code; `site`: the hospital site's ODS code.

A unit with no residents row, no LSOA or no deprivation row is in the group "Unknown",
so every breakdown's groups add up to the total.
"""

from __future__ import annotations

import math
import re

import ibis

from mkdeal.datasets.codes import code_list
from mkdeal.measures.definition import Tables, years_since_birth_month

UNKNOWN = "Unknown"
AGE_BANDS = ((0, "0-17"), (18, "18-64"), (65, "65-74"), (75, "75-84"), (85, "85+"))


def _group_map(list_name: str) -> dict[str, str]:
    codes = code_list(list_name)
    return {code: codes.attribute(code, "census2021_high_level_group") for code in codes.codes}


def decile_column(version: str) -> str:
    return "imd_decile__" + re.sub(r"[^a-z0-9]", "_", version.lower())


def person_attributes(tables: Tables, imd_versions: list[str]) -> ibis.Table | None:
    """One row per person_id with birth month, sex, ethnic group, PCN and a decile column
    per deprivation version; None when no residents data is loaded."""
    if "residents" not in tables:
        return None
    residents = tables["residents"]
    ethnic = ibis.coalesce(
        residents.ethnic_group_2021.substitute(_group_map("ethnic_group_2021"), else_=None),
        residents.ethnic_category.substitute(_group_map("ethnic_category"), else_=None),
    )
    people = residents.group_by("person_id").aggregate(
        birth_month=residents.birth_month.max(),
        sex=residents.sex.max(),
        ethnic_group=ethnic.max(),
        pcn=residents.pcn_code.max(),
        lsoa_2021=residents.lsoa_2021.max(),
    )
    if "area_deprivation" in tables:
        people = with_deciles(people, tables["area_deprivation"], imd_versions)
    return people.drop("lsoa_2021")


def with_deciles(table: ibis.Table, areas: ibis.Table, imd_versions: list[str]) -> ibis.Table:
    """`table` with a decile column per index version, from its `lsoa_2021`."""
    for version in imd_versions:
        deciles = areas.filter(areas.imd_version == version).select(
            _lsoa=areas.lsoa_2021, **{decile_column(version): areas.imd_decile}
        )
        table = table.left_join(deciles, table.lsoa_2021 == deciles._lsoa).drop("_lsoa")
    return table


def age_band_expr(day: ibis.Value, birth_month: ibis.Value) -> ibis.Value:
    """The age band at `day`: whole years from the first of the birth month; null (Unknown)
    without a birth month."""
    age = years_since_birth_month(day, birth_month)
    # Each band ends where the next begins: (age < 18, "0-17"), (age < 65, "18-64"), ...
    bands = [
        (age < upper, label)
        for (upper, _), (_, label) in zip(AGE_BANDS[1:], AGE_BANDS[:-1], strict=True)
    ]
    return ibis.ifelse(
        birth_month.isnull(),
        ibis.null().cast("string"),
        ibis.cases(*bands, else_=AGE_BANDS[-1][1]),
    )


def quintile(decile: str) -> str:
    """Quintile 1 (most deprived) to 5 from a decile 1 to 10 given as text."""
    return UNKNOWN if decile == UNKNOWN else str(math.ceil(int(decile) / 2))
