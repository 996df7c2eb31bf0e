"""Reading the published deprivation files into the area_deprivation contract form.

The fixtures in tests/data/deprivation/ are real published rows (see its README.md for
where each came from; the IoD2019 File 7 rows are assembled from real published values
into that layout). Tests that need a variant (a bad value, a changed header, equal
populations) change a copy of a fixture in the test itself and say so.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from mkdeal.datasets.definitions.area_deprivation import AREA_DEPRIVATION
from mkdeal.datasets.deprivation import (
    convert,
    read_imd2019,
    read_iod2025,
    write_contract_csv,
)
from mkdeal.datasets.load import list_loads, load_file
from mkdeal.errors import UserError
from mkdeal.warehouse import open_warehouse_for_writing

DATA = Path(__file__).parent / "data" / "deprivation"
IOD2025 = DATA / "File_7_IoD2025_All_Ranks_Scores_Deciles_Population_Denominators.csv"
IMD2019_FILE7 = (
    DATA / "File_7_-_All_IoD2019_Scores__Ranks__Deciles_and_Population_Denominators_3.csv"
)
IMD2019_FILE1 = DATA / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv"
LOOKUP = (
    DATA / "LSOA_(2011)_to_LSOA_(2021)_to_Local_Authority_District_(2022)_Lookup_for_England_"
    "and_Wales.csv"
)
AS_OF = date(2026, 11, 1)
MILTON_KEYNES = "E06000042"


def rows_by_area(converted) -> dict[str, dict]:
    return {row["lsoa_2021"]: row for row in converted.table.to_pylist()}


def read_rows(path: Path, encoding: str = "utf-8-sig") -> list[list[str]]:
    with path.open(newline="", encoding=encoding) as handle:
        return list(csv.reader(handle))


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return path


def column(rows: list[list[str]], start: str) -> int:
    return next(i for i, name in enumerate(rows[0]) if name.lower().startswith(start.lower()))


# IoD2025 ---------------------------------------------------------------------------------


def test_iod2025_file7_rows_come_out_in_contract_form():
    converted = read_iod2025(IOD2025)

    assert converted.table.column_names == AREA_DEPRIVATION.column_names
    assert all(str(field.type) == "string" for field in converted.table.schema)
    assert (converted.version, converted.read, converted.areas) == ("iod2025", 14, 14)
    assert (converted.merged, converted.left_out) == (0, ())
    rows = rows_by_area(converted)
    # Milton Keynes 013C as published: score 8.316, rank 27087, decile 9.
    assert rows["E01016723"] == {
        "lsoa_2021": "E01016723",
        "imd_version": "iod2025",
        "local_authority_code": MILTON_KEYNES,
        "imd_decile": "9",
        "imd_rank": "27087",
        "imd_score": "8.316",
        "lsoa_2011": None,
        "lsoa_change_indicator": None,
    }
    assert rows["E01016720"]["imd_decile"] == "2"
    assert list(rows)[:2] == ["E01016710", "E01016711"]  # file order kept


def test_iod2025_headers_match_by_name_whatever_the_order_case_and_truncation(tmp_path):
    # A variant of the real file: columns in reverse order, headers in upper case with
    # trailing spaces, the decile header cut short, and the rank written "12,226" in quotes.
    rows = read_rows(IOD2025)
    rank = column(rows, "Index of Multiple Deprivation (IMD) Rank")
    decile = column(rows, "Index of Multiple Deprivation (IMD) Decile")
    rows[1][rank] = '"12,226"'
    rows[0] = [name.upper() + "  " for name in rows[0]]
    rows[0][decile] = "Index of Multiple Deprivation (IMD) Decile (where 1 is most"
    variant = write_rows(tmp_path / "variant.csv", [list(reversed(row)) for row in rows])

    converted = read_iod2025(variant)

    assert converted.table.to_pylist() == read_iod2025(IOD2025).table.to_pylist()


# IMD 2019 through the lookup ---------------------------------------------------------------


def test_imd2019_unchanged_area_keeps_its_2011_values():
    converted = read_imd2019(IMD2019_FILE7, LOOKUP)

    assert rows_by_area(converted)["E01016723"] == {
        "lsoa_2021": "E01016723",
        "imd_version": "imd2019",
        "local_authority_code": MILTON_KEYNES,
        "imd_decile": "8",
        "imd_rank": "24793",
        "imd_score": "9.778",
        "lsoa_2011": "E01016723",
        "lsoa_change_indicator": "U",
    }
    assert converted.table.column_names == AREA_DEPRIVATION.column_names


def test_imd2019_split_area_gives_each_2021_area_the_2011_values():
    rows = rows_by_area(read_imd2019(IMD2019_FILE7, LOOKUP))

    # Milton Keynes 002B (E01016760) became 002G, 002H and 002I.
    for area in ("E01034446", "E01034447", "E01034448"):
        row = rows[area]
        assert (row["lsoa_2011"], row["lsoa_change_indicator"]) == ("E01016760", "S")
        assert (row["imd_decile"], row["imd_rank"], row["imd_score"]) == ("8", "25494", "9.226")
    assert "E01016760" not in rows  # the 2011 code is not a 2021 area


def test_imd2019_merged_area_takes_the_largest_population_part():
    converted = read_imd2019(IMD2019_FILE7, LOOKUP)
    rows = rows_by_area(converted)

    # East Cambridgeshire 004H (E01035535) merges 004G (decile 10, 1,465 people in mid 2015)
    # and 004D (decile 6, 1,047 people): the larger part's values, not the more deprived.
    merged = rows["E01035535"]
    assert (merged["lsoa_2011"], merged["lsoa_change_indicator"]) == ("E01033428", "M")
    assert (merged["imd_decile"], merged["imd_rank"], merged["imd_score"]) == (
        "10",
        "31810",
        "3.63",
    )
    assert merged["local_authority_code"] == "E07000009"
    # Northumberland 043F (X) is made from Gateshead 024C (1,669 people) and Northumberland
    # 039D (1,168): Gateshead 024C's values, with the 2022 district from the lookup.
    irregular = rows["E01035637"]
    assert (irregular["lsoa_2011"], irregular["lsoa_change_indicator"]) == ("E01008187", "X")
    assert (irregular["imd_decile"], irregular["local_authority_code"]) == ("3", "E06000057")
    assert converted.merged == 2


def test_imd2019_merged_area_with_equal_populations_takes_the_most_deprived(tmp_path):
    # A variant of the File 7 fixture: both parts of East Cambridgeshire 004H given 1,200.
    rows = read_rows(IMD2019_FILE7)
    population = column(rows, "Total population: mid 2015")
    for row in rows[1:]:
        if row[0] in ("E01033428", "E01018030"):
            row[population] = "1200"
    variant = write_rows(tmp_path / "equal.csv", rows)

    merged = rows_by_area(read_imd2019(variant, LOOKUP))["E01035535"]

    assert (merged["lsoa_2011"], merged["imd_decile"], merged["imd_rank"]) == (
        "E01018030",
        "6",
        "18773",
    )


def test_imd2019_file1_layout_reads_thousands_separators_and_takes_most_deprived():
    converted = read_imd2019(IMD2019_FILE1, LOOKUP)
    rows = rows_by_area(converted)

    # File 1 writes ranks as "24,793" and has no score and no population.
    assert (rows["E01016723"]["imd_rank"], rows["E01016723"]["imd_score"]) == ("24793", None)
    merged = rows["E01035535"]
    assert (merged["lsoa_2011"], merged["imd_decile"], merged["imd_rank"]) == (
        "E01018030",
        "6",
        "18773",
    )
    assert any("no population column" in note for note in converted.notes)
    assert converted.areas == read_imd2019(IMD2019_FILE7, LOOKUP).areas == 22


def test_imd2019_leaves_out_a_2021_area_missing_one_of_its_2011_parts(tmp_path):
    # A variant of the File 1 fixture without East Cambridgeshire 004D.
    rows = [row for row in read_rows(IMD2019_FILE1) if row[0] != "E01018030"]
    variant = write_rows(tmp_path / "partial.csv", rows)

    converted = read_imd2019(variant, LOOKUP)

    assert "E01035535" not in rows_by_area(converted)
    assert converted.left_out == ("E01035535",)
    assert any("E01035535" in note and "left out" in note for note in converted.notes)


def test_imd2019_ignores_welsh_lookup_rows_and_lookup_areas_outside_the_file():
    converted = read_imd2019(IMD2019_FILE7, LOOKUP)
    areas = rows_by_area(converted)

    assert not any(area.startswith("W") for area in areas)
    assert "E01016725" not in areas  # in the lookup, not in the index file
    assert converted.left_out == ()
    assert any("2 Welsh rows" in note for note in converted.notes)


def test_imd2019_lookup_field_names_match_in_any_case_with_or_without_prefix(tmp_path):
    # A variant of the real lookup: plain lower-case names and ObjectId moved first.
    rows = read_rows(LOOKUP)
    rows[0] = [name.removeprefix("F_").lower() for name in rows[0]]
    rows = [[row[-1], *row[:-1]] for row in rows]
    variant = write_rows(tmp_path / "lookup.csv", rows)

    converted = read_imd2019(IMD2019_FILE7, variant)

    assert converted.table.to_pylist() == read_imd2019(IMD2019_FILE7, LOOKUP).table.to_pylist()


def test_convert_dispatches_on_the_index_version():
    assert convert("iod2025", IOD2025, None).version == "iod2025"
    assert convert("IMD2019", IMD2019_FILE1, LOOKUP).version == "imd2019"


# Refusals --------------------------------------------------------------------------------


def test_convert_imd2019_without_lookup_is_refused():
    with pytest.raises(UserError, match="exact-fit lookup"):
        convert("imd2019", IMD2019_FILE7, None)


def test_convert_unknown_index_is_refused():
    with pytest.raises(UserError, match="iod2025"):
        convert("imd2015", IMD2019_FILE7, None)


def test_missing_file_is_refused_naming_it(tmp_path):
    with pytest.raises(UserError, match=r"no file .*nowhere\.csv"):
        read_iod2025(tmp_path / "nowhere.csv")


def test_empty_file_and_spreadsheet_are_refused(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    workbook = tmp_path / "File_7.xlsx"
    workbook.write_bytes(b"PK\x03\x04 not a csv")
    header_only = tmp_path / "header.csv"
    header_only.write_text(IOD2025.read_text(encoding="utf-8").splitlines()[0] + "\n")

    with pytest.raises(UserError, match=r"empty\.csv is empty"):
        read_iod2025(empty)
    with pytest.raises(UserError, match=r"File_7\.xlsx is a spreadsheet"):
        read_iod2025(workbook)
    with pytest.raises(UserError, match=r"header\.csv has a header but no rows"):
        read_iod2025(header_only)


def test_missing_header_names_the_file_and_header_and_guesses_the_file_given():
    with pytest.raises(UserError) as lookup_given:
        read_iod2025(LOOKUP)
    with pytest.raises(UserError) as iod2025_given:
        read_imd2019(IOD2025, LOOKUP)
    with pytest.raises(UserError) as swapped:
        read_imd2019(LOOKUP, IMD2019_FILE7)

    message = str(lookup_given.value)
    assert LOOKUP.name in message and "'LSOA code (2021)'" in message
    assert "'F_LSOA11CD'" in message and "lookup" in message
    message = str(iod2025_given.value)
    assert IOD2025.name in message and "'LSOA code (2011)'" in message
    assert "iod2025" in message
    assert LOOKUP.name in str(swapped.value) and "wrong way round" in str(swapped.value)


def test_best_fit_lookup_is_refused(tmp_path):
    # The best-fit lookup's header as documented: no CHGIND (rows from the real lookup).
    rows = read_rows(LOOKUP)
    chgind = rows[0].index("CHGIND")
    best_fit = [[value for i, value in enumerate(row) if i != chgind] for row in rows]
    best_fit[0] = [name.removeprefix("F_") for name in best_fit[0]]
    path = write_rows(tmp_path / "best_fit.csv", best_fit)

    with pytest.raises(UserError) as refused:
        read_imd2019(IMD2019_FILE7, path)

    message = str(refused.value)
    assert "best_fit.csv" in message and "best-fit" in message
    assert "exact-fit lookup, which has CHGIND" in message


def test_bad_decile_is_refused_naming_file_line_and_column(tmp_path):
    rows = read_rows(IOD2025)
    decile = column(rows, "Index of Multiple Deprivation (IMD) Decile")
    rows[3][decile] = "11"  # line 4 of the file
    path = write_rows(tmp_path / "bad_decile.csv", rows)

    with pytest.raises(UserError) as refused:
        read_iod2025(path)

    message = str(refused.value)
    assert "bad_decile.csv has 1 bad value" in message
    assert "line 4, column 'Index of Multiple Deprivation (IMD) Decile (where 1 is" in message
    assert "'11' is not a decile from 1 to 10" in message


def test_bad_rank_and_lsoa_code_are_refused_with_their_lines(tmp_path):
    rows = read_rows(IMD2019_FILE1)
    rank = column(rows, "Index of Multiple Deprivation (IMD) Rank")
    rows[2][rank] = "10,999.5"  # line 3
    rows[5][0] = "E0101671"  # line 6
    path = write_rows(tmp_path / "bad.csv", rows)

    with pytest.raises(UserError) as refused:
        read_imd2019(path, LOOKUP)

    message = str(refused.value)
    assert "bad.csv has 2 bad values" in message
    assert "line 3, column 'Index of Multiple Deprivation (IMD) Rank': '10,999.5' is not a " in (
        message
    )
    assert "line 6, column 'LSOA code (2011)': 'E0101671' is not an LSOA 2011 code" in message


def test_bad_change_indicator_in_lookup_is_refused(tmp_path):
    rows = read_rows(LOOKUP)
    rows[4][rows[0].index("CHGIND")] = "Q"  # line 5
    path = write_rows(tmp_path / "lookup.csv", rows)

    with pytest.raises(UserError, match=r"lookup.csv .*line 5, column 'CHGIND': 'Q' is not U"):
        read_imd2019(IMD2019_FILE7, path)


def test_area_given_twice_is_refused(tmp_path):
    rows = read_rows(IOD2025)
    path = write_rows(tmp_path / "twice.csv", [*rows, rows[1]])

    with pytest.raises(UserError, match="E01016710 on lines 2, 16"):
        read_iod2025(path)


def test_national_index_file_that_does_not_match_the_lookup_is_refused(tmp_path):
    # Constructed, not published: 30,000 made-up areas in the File 1 layout, and a lookup
    # without the last of them. A national file must match the national lookup exactly.
    index = [
        [
            "LSOA code (2011)",
            "Index of Multiple Deprivation (IMD) Rank",
            "Index of Multiple Deprivation (IMD) Decile",
        ]
    ]
    lookup = [["LSOA11CD", "CHGIND", "LSOA21CD", "LAD22CD"]]
    for number in range(30_000):
        code = f"E01{number:06d}"
        index.append([code, f"{number + 1:,}", str(number * 10 // 30_000 + 1)])
        if number < 29_999:
            lookup.append([code, "U", code, MILTON_KEYNES])
    index_path = write_rows(tmp_path / "national.csv", index)
    lookup_path = write_rows(tmp_path / "lookup.csv", lookup)

    with pytest.raises(UserError, match=r"looks like the national file .*E01029999"):
        read_imd2019(index_path, lookup_path)


# Through the real contract load -------------------------------------------------------------


def load(settings, tmp_path: Path, converted, name: str):
    path = write_contract_csv(converted, tmp_path / f"{name}.csv")
    return load_file(settings, "area_deprivation", path, source=MILTON_KEYNES, as_of=AS_OF)


def warehouse_rows(settings) -> list[dict]:
    with open_warehouse_for_writing(settings, purpose="a test") as backend:
        table = backend.table("area_deprivation")
        return table.order_by(["imd_version", "lsoa_2021"]).to_pyarrow().to_pylist()


@pytest.mark.parametrize(
    ("index", "path", "lookup"),
    [
        ("iod2025", IOD2025, None),
        ("imd2019", IMD2019_FILE7, LOOKUP),
        ("imd2019", IMD2019_FILE1, LOOKUP),
    ],
    ids=["iod2025-file7", "imd2019-file7", "imd2019-file1"],
)
def test_converted_file_loads_through_the_contract_with_nothing_quarantined(
    settings, tmp_path, index, path, lookup
):
    converted = convert(index, path, lookup)

    result = load(settings, tmp_path, converted, index)

    assert (result.read, result.loaded, result.quarantined) == (
        converted.areas,
        converted.areas,
        0,
    )


def test_contract_csv_has_the_contract_header_and_empty_cells_for_nulls(tmp_path):
    path = write_contract_csv(read_iod2025(IOD2025), tmp_path / "out" / "areas.csv")

    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(AREA_DEPRIVATION.column_names)
    assert lines[1] == "E01016710,iod2025,E06000042,4,12226,23.338,,"
    assert len(lines) == 15


def test_each_load_replaces_only_its_own_index_version(settings, tmp_path):
    first = load(settings, tmp_path, read_iod2025(IOD2025), "iod2025")
    load(settings, tmp_path, read_imd2019(IMD2019_FILE7, LOOKUP), "imd2019")

    versions = [row["imd_version"] for row in warehouse_rows(settings)]
    assert (versions.count("imd2019"), versions.count("iod2025")) == (22, 14)

    # A later IoD2025 file from the same source (here the same file less one area)
    # replaces the earlier IoD2025 load and leaves IMD 2019 alone.
    rows = read_rows(IOD2025)[:-1]
    again = load(settings, tmp_path, read_iod2025(write_rows(tmp_path / "less.csv", rows)), "r")

    assert again.replaced == (first.load_id,)
    versions = [row["imd_version"] for row in warehouse_rows(settings)]
    assert (versions.count("imd2019"), versions.count("iod2025")) == (22, 13)
    statuses = {load["load_id"]: load["status"] for load in list_loads(settings)}
    assert statuses[first.load_id] == "replaced"
    assert sorted(statuses.values()) == ["active", "active", "replaced"]


def test_deprivation_load_command_keeps_both_indices_and_counts_ncmp_residents(
    cli_env, settings, tmp_path, capsys
):
    from mkdeal.cli import main
    from mkdeal.datasets.staging import Period

    from .test_measures import _load, results
    from .test_measures_weight import CHILDREN

    assert main(["deprivation", "load", "iod2025", str(IOD2025)]) == 0
    assert (
        main(["deprivation", "load", "imd2019", str(IMD2019_FILE7), "--lookup", str(LOOKUP)]) == 0
    )
    assert main(["deprivation", "load", "iod2025", str(IOD2025)]) == 0
    assert "unchanged" in capsys.readouterr().out
    active = [
        load for load in list_loads(settings, "area_deprivation") if load["status"] == "active"
    ]
    assert sorted(load["loaded"] for load in active) == [14, 22]
    assert main(["deprivation", "load", "imd2019", str(IMD2019_FILE7)]) != 0
    assert "--lookup" in capsys.readouterr().err

    # With the official files, residence is the file's local authority code: C1, C2 and C6
    # live in Milton Keynes areas of the IoD2025 file; C4's LSOA is in neither file.
    year = Period(date(2024, 9, 1), date(2025, 8, 31))
    _load(settings, tmp_path, "child_measurements", CHILDREN, "E06000042", year)
    frame = results(
        settings,
        ["ncmp.reception_overweight_or_obese", "ncmp.year6_overweight_or_obese"],
        breakdowns=("imd_decile",),
    )
    overall = frame[frame.breakdown == "all"].set_index("measure_id")
    assert overall.loc["ncmp.reception_overweight_or_obese", "denominator"] == 2
    assert overall.loc["ncmp.year6_overweight_or_obese", "denominator"] == 1
    assert set(frame.breakdown_version) == {"", "imd2019", "iod2025"}
