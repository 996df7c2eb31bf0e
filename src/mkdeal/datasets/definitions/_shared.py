"""Columns, patterns and row checks that several dataset contracts share.

Patterns use explicit character classes (`[0-9]`, never `\\d`): the loader may run them in
Python, DuckDB (RE2) or PostgreSQL, and `\\d` in Python also matches non-ASCII digits.
"""

from __future__ import annotations

from mkdeal.datasets.contract import Column, RowCheck

# ONS Lower layer Super Output Area, 2021 boundaries, in England: E01 and six digits.
LSOA_2021_PATTERN = "E01[0-9]{6}"
LSOA_2021_PATTERN_NAME = "an LSOA 2021 code (E01 and six digits)"
# The 2011 boundaries use the same form; the codes of unchanged areas are the same.
LSOA_2011_PATTERN = LSOA_2021_PATTERN
LSOA_2011_PATTERN_NAME = "an LSOA 2011 code (E01 and six digits)"
# ONS (GSS) code of an area such as a local authority district: E and eight digits.
ONS_AREA_PATTERN = "E[0-9]{8}"
ONS_AREA_PATTERN_NAME = "an ONS area code (E and eight digits, E06000042 for Milton Keynes)"
# ODS code of a GP practice in England: a letter and five digits (for example K82001).
GP_PRACTICE_PATTERN = "[A-Z][0-9]{5}"
GP_PRACTICE_PATTERN_NAME = "a GP practice ODS code (a letter and five digits)"
# ODS code of a Primary Care Network: U and five digits.
PCN_PATTERN = "U[0-9]{5}"
PCN_PATTERN_NAME = "a Primary Care Network ODS code (U and five digits)"
# ODS code of an NHS trust or independent provider: three characters (RD8 is MKUH).
PROVIDER_PATTERN = "[A-Z][A-Z0-9]{2}"
PROVIDER_PATTERN_NAME = "a provider ODS code (a letter and two letters or digits)"
# ODS code of a provider's site: the provider's three characters and two more (RD816).
SITE_PATTERN = "[A-Z][A-Z0-9]{4}"
SITE_PATTERN_NAME = "a site ODS code (five letters or digits, starting with a letter)"
# Department for Education unique reference number of a school: six digits.
SCHOOL_URN_PATTERN = "[0-9]{6}"
SCHOOL_URN_PATTERN_NAME = "a school URN (six digits)"


# A valid NHS number from the 999 range NHS England keeps for test records.
EXAMPLE_NHS_NUMBER = "9990000018"
EXAMPLE_LSOA_2021 = "E01016723"
EXAMPLE_PROVIDER = "RD8"
EXAMPLE_SITE = "RD816"
EXAMPLE_GP_PRACTICE = "K82001"

NHS_NUMBER_MEANING = (
    "The person's NHS number, checked with its modulus 11 check digit and replaced by "
    "person_id on load."
)


def nhs_number(*, required: bool = True, caveat: str | None = None) -> Column:
    """The person's NHS number, replaced by `person_id` on load (DESIGN.md, People and keys)."""
    return Column(
        "nhs_number",
        "nhs_number",
        NHS_NUMBER_MEANING,
        required=required,
        caveat=caveat,
        example=EXAMPLE_NHS_NUMBER,
    )


def lsoa_2021(
    meaning: str,
    *,
    required: bool = True,
    caveat: str | None = None,
    example: str = EXAMPLE_LSOA_2021,
) -> Column:
    return Column(
        "lsoa_2021",
        "string",
        meaning,
        required=required,
        pattern=LSOA_2021_PATTERN,
        pattern_name=LSOA_2021_PATTERN_NAME,
        caveat=caveat,
        example=example,
    )


def provider_code(
    meaning: str, *, required: bool = True, example: str = EXAMPLE_PROVIDER
) -> Column:
    return Column(
        "provider_code",
        "string",
        meaning,
        required=required,
        pattern=PROVIDER_PATTERN,
        pattern_name=PROVIDER_PATTERN_NAME,
        example=example,
    )


def site_code(
    meaning: str, *, required: bool = True, caveat: str | None = None, example: str = EXAMPLE_SITE
) -> Column:
    return Column(
        "site_code",
        "string",
        meaning,
        required=required,
        pattern=SITE_PATTERN,
        pattern_name=SITE_PATTERN_NAME,
        caveat=caveat,
        example=example,
    )


def gp_practice_code(
    meaning: str,
    *,
    required: bool = True,
    caveat: str | None = None,
    example: str = EXAMPLE_GP_PRACTICE,
) -> Column:
    return Column(
        "gp_practice_code",
        "string",
        meaning,
        required=required,
        pattern=GP_PRACTICE_PATTERN,
        pattern_name=GP_PRACTICE_PATTERN_NAME,
        caveat=caveat,
        example=example,
    )


def not_before(later: str, earlier: str, reason: str, *, field: str | None = None) -> RowCheck:
    """A check that column `later` is on or after column `earlier`, asked where both are present.

    A failing row is quarantined against `field`: the later column unless said otherwise.
    """
    return RowCheck(
        field=field or later,
        reason=reason,
        uses=(earlier, later),
        holds=lambda t: t[later] >= t[earlier],
    )
