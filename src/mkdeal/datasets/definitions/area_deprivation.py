"""Area deprivation: the Index of Multiple Deprivation for each LSOA 2021.

From the English Indices of Deprivation 2025 (published on LSOA 2021), the 2019 Indices
(published on LSOA 2011 and brought to LSOA 2021 through the ONS exact-fit lookup), or the
synthetic Milton Keynes. DESIGN.md, Codes and geography: every figure by deprivation says
which version it used, and no series mixes versions.
"""

from __future__ import annotations

from mkdeal.datasets.contract import Column, Dataset, NationalSource
from mkdeal.datasets.definitions._shared import (
    LSOA_2011_PATTERN,
    LSOA_2011_PATTERN_NAME,
    ONS_AREA_PATTERN,
    ONS_AREA_PATTERN_NAME,
    lsoa_2021,
)

# England has 33,755 LSOAs on 2021 boundaries (32,844 on 2011 boundaries); a rank is never
# larger than the number of areas ranked.
LSOA_2021_COUNT_ENGLAND = 33_755

AREA_DEPRIVATION = Dataset(
    name="area_deprivation",
    title="Area deprivation (Index of Multiple Deprivation)",
    description=(
        "One row per LSOA 2021 and index version: the Index of Multiple Deprivation score, "
        "rank and decile, and the local authority the area is in. A reference dataset about "
        "areas, not people, so it has no period column: each load from a source replaces "
        "that source's rows of the index versions it holds, and other versions stay. "
        "Deprivation breakdowns join residents (or a record's own LSOA) to it on lsoa_2021 "
        "within one imd_version. `mkdeal deprivation` turns the published files into this "
        "form."
    ),
    columns=(
        lsoa_2021("The Lower layer Super Output Area (2021 boundaries) the row describes."),
        Column(
            "imd_version",
            "string",
            "Which index the values come from: the 2025 or 2019 English Indices of "
            "Deprivation, or the synthetic Milton Keynes.",
            codes="imd_version",
            example="iod2025",
        ),
        Column(
            "local_authority_code",
            "string",
            "The ONS code of the local authority district the area is in, as the index "
            "file gives it (2024 districts for IoD2025, 2022 districts from the ONS lookup "
            "for IMD 2019). Residence rules (NCMP counts children living in the area) use it.",
            required=False,
            pattern=ONS_AREA_PATTERN,
            pattern_name=ONS_AREA_PATTERN_NAME,
            example="E06000042",
        ),
        Column(
            "imd_decile",
            "integer",
            "The area's IMD decile in England, where 1 is the most deprived 10% of areas.",
            minimum=1,
            maximum=10,
            example="4",
        ),
        Column(
            "imd_rank",
            "integer",
            "The area's IMD rank in England, where 1 is the most deprived area.",
            required=False,
            minimum=1,
            maximum=LSOA_2021_COUNT_ENGLAND,
            caveat=(
                "For IMD 2019 this is the rank of the 2011 area among 32,844, so ranks from "
                "the two versions are not comparable."
            ),
            example="12160",
        ),
        Column(
            "imd_score",
            "decimal",
            "The area's IMD score; higher is more deprived.",
            required=False,
            minimum=0,
            maximum=100,
            caveat=(
                "Scores are relative within one version of the index and are not comparable "
                "between versions."
            ),
            example="18.4",
        ),
        Column(
            "lsoa_2011",
            "string",
            "For IMD 2019, the LSOA 2011 the values were published for, reached through the "
            "ONS LSOA 2011 to 2021 lookup.",
            required=False,
            pattern=LSOA_2011_PATTERN,
            pattern_name=LSOA_2011_PATTERN_NAME,
        ),
        Column(
            "lsoa_change_indicator",
            "string",
            "For IMD 2019, how the LSOA 2011 became the LSOA 2021 (CHGIND in the ONS lookup: "
            "unchanged, split, merged or irregular).",
            required=False,
            codes="lsoa_change_indicator",
            caveat=(
                "For a merged (M) or irregular (X) area the 2011 values of several areas "
                "meet in one 2021 area; `mkdeal deprivation` keeps the values of the one "
                "chosen by the rule in docs/adr/0005-deprivation-files.md and never averages "
                "deciles."
            ),
        ),
    ),
    natural_key=("imd_version", "lsoa_2021"),
    period_column=None,
    replaces_by="imd_version",
    mirrors=(
        NationalSource(
            "Ministry of Housing, Communities and Local Government: English Indices of "
            "Deprivation 2025, File 7",
            "https://www.gov.uk/government/statistics/english-indices-of-deprivation-2025",
        ),
        NationalSource(
            "Ministry of Housing, Communities and Local Government: English Indices of "
            "Deprivation 2019, File 7",
            "https://www.gov.uk/government/statistics/english-indices-of-deprivation-2019",
        ),
    ),
    caveats=(
        "Deprivation describes an area, not a person: a person in a deprived area may not be "
        "deprived.",
        "IMD 2019 reaches 2021 boundaries through the ONS exact-fit lookup; split (S), merged "
        "(M) and irregular (X) areas carry the 2011 area's values, which is approximate.",
    ),
    person_level=False,
)
