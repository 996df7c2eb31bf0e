"""Tests for mkdeal.people: NHS number checks, person_id pseudonyms and masking.

Every NHS number here is in the 999 test range, or is the public Data Dictionary and
Wikipedia examples 943 476 5919 and 987 654 3210, or is invalid by construction.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid

import duckdb
import ibis
import nhs_number
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mkdeal.people import (
    Pseudonymiser,
    is_test_range,
    is_valid_nhs_number,
    mask_nhs_number,
    nhs_number_is_valid_expr,
    nhs_number_problem,
    normalise_nhs_number,
    normalise_nhs_number_expr,
    pseudonymise_column,
)

from .conftest import POSTGRES_URL

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))

VALID_TEST_NUMBERS = ["9990000018", "9990000026", "9990000069", "9990000093"]
# 999 000 000 has no possible check digit: its weighted sum leaves remainder 1.
CHECK_VALUE_10_PREFIX = "999000000"

# Values on which the Python functions and the ibis expressions must agree, chosen to
# sit on the edges of the accepted forms.
TRICKY_VALUES = [
    "9990000018",
    "999 000 0018",
    "999-000-0018",
    "  9990000018  ",
    "\t999 000 0018\n",
    "\r\x0b\x0c9990000018",
    "999 000-0018",
    "999-000 0018",
    "99 90000018",
    "999  000 0018",
    "9990000019",
    "9990000010",
    "999000001",
    "99900000180",
    "999000001O",
    "９９９０００００１８",
    "٩٩٩٠٠٠٠٠١٨",
    "\u00a09990000018",
    "9990000018\u00a0",
    "",
    " ",
    "-",
    "abc",
    "0000000000",
    "9434765919",
    "987 654 3210",
]


def _with_check_digit(first_nine: str) -> str | None:
    """A full number from nine digits using the reference package, or None if impossible."""
    check = nhs_number.calculate_checksum(first_nine)
    return None if check == 10 else f"{first_nine}{check}"


ten_ascii_digits = st.text(alphabet="0123456789", min_size=10, max_size=10)
valid_numbers = (
    st.text(alphabet="0123456789", min_size=9, max_size=9)
    .map(_with_check_digit)
    .filter(lambda number: number is not None)
)


@st.composite
def written_numbers(draw: st.DrawFn) -> str:
    """A 10-digit number written in an accepted form, with surrounding whitespace."""
    digits = draw(st.one_of(valid_numbers, ten_ascii_digits))
    separator = draw(st.sampled_from(["", " ", "-"]))
    padding = st.text(alphabet=" \t\n\r\x0b\x0c", max_size=3)
    grouped = separator.join([digits[:3], digits[3:6], digits[6:]])
    return draw(padding) + grouped + draw(padding)


near_misses = st.text(alphabet="0123456789 -\t\nx", max_size=14)
any_values = st.one_of(written_numbers(), near_misses, st.text(max_size=14))


@pytest.fixture(scope="module")
def duckdb_con():
    con = ibis.duckdb.connect()
    yield con
    con.disconnect()


@pytest.fixture(scope="module")
def postgres_con(postgres_schema):
    """An ibis PostgreSQL connection (conftest's `postgres_schema` skips or fails for us)."""
    con = ibis.connect(POSTGRES_URL)
    yield con
    con.disconnect()


def _python_expectations(values: list[str | None]) -> tuple[list, list]:
    normalised = [normalise_nhs_number(v) if v is not None else None for v in values]
    valid = [is_valid_nhs_number(v) for v in values]
    return normalised, valid


def _engine_results(con, values: list[str | None]) -> tuple[list, list]:
    table = ibis.memtable(
        pa.table({"i": pa.array(range(len(values))), "v": pa.array(values, pa.string())})
    )
    query = table.select(
        "i",
        n=normalise_nhs_number_expr(table.v),
        ok=nhs_number_is_valid_expr(normalise_nhs_number_expr(table.v)),
    ).order_by("i")
    result = con.to_pyarrow(query)
    return result["n"].to_pylist(), result["ok"].to_pylist()


# --- normalise_nhs_number ------------------------------------------------------------


@pytest.mark.parametrize("written", ["9434765919", "943 476 5919", "943-476-5919"])
def test_normalise_nhs_number_accepts_plain_spaced_and_hyphenated(written):
    assert normalise_nhs_number(written) == "9434765919"


@pytest.mark.parametrize("written", [" 9434765919", "943 476 5919 \n", "\t943-476-5919\r"])
def test_normalise_nhs_number_strips_surrounding_whitespace(written):
    assert normalise_nhs_number(written) == "9434765919"


@pytest.mark.parametrize(
    "written",
    ["94 34765919", "943 476-5919", "943  476 5919", "9434 76 5919", "943 4765919", "943_476_5919"],
)
def test_normalise_nhs_number_rejects_other_groupings(written):
    assert normalise_nhs_number(written) is None


@pytest.mark.parametrize("written", ["９４３４７６５９１９", "٩٤٣٤٧٦٥٩١٩", "\u00a09434765919"])
def test_normalise_nhs_number_rejects_non_ascii_digits_and_spaces(written):
    assert normalise_nhs_number(written) is None


def test_normalise_nhs_number_returns_none_for_non_string():
    assert normalise_nhs_number(9434765919) is None  # type: ignore[arg-type]


@given(st.text(alphabet="0123456789 -\t\n\r\x0b\x0cx", max_size=16))
def test_normalise_nhs_number_agrees_with_reference_package_on_ascii_input(value):
    # The reference also accepts Unicode digits and whitespace; we accept ASCII only.
    expected = nhs_number.standardise_format(value) or None

    assert normalise_nhs_number(value) == expected


# --- nhs_number_problem and is_valid_nhs_number ---------------------------------------


@pytest.mark.parametrize(
    "number", [*VALID_TEST_NUMBERS, "9434765919", "943 476 5919", "987-654-3210"]
)
def test_nhs_number_problem_none_for_valid_numbers(number):
    assert nhs_number_problem(number) is None
    assert is_valid_nhs_number(number)


def test_nhs_number_problem_reports_wrong_check_digit():
    assert nhs_number_problem("9990000019") == "fails the modulus 11 check digit"
    assert not is_valid_nhs_number("9990000019")


@pytest.mark.parametrize("last", list("0123456789"))
def test_nhs_number_problem_reports_check_value_10(last):
    problem = nhs_number_problem(CHECK_VALUE_10_PREFIX + last)

    assert problem is not None
    assert problem.startswith("fails the modulus 11 check digit")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("999000001", "has 9 digits, not 10"),
        ("99900000180", "has 11 digits, not 10"),
        ("7", "has 1 digit, not 10"),
        ("999 000 001", "has 9 digits, not 10"),
    ],
)
def test_nhs_number_problem_reports_wrong_length(value, expected):
    assert nhs_number_problem(value) == expected


@pytest.mark.parametrize(
    "value", ["999000001O", "999/000/0018", "NHS9990000018", "٩٩٩٠٠٠٠٠١٨", "999\t000\t0018"]
)
def test_nhs_number_problem_reports_non_digit_characters(value):
    assert nhs_number_problem(value) == "contains characters other than digits"


def test_nhs_number_problem_reports_bad_grouping():
    problem = nhs_number_problem("99 90000018")

    assert problem is not None
    assert problem.startswith("has spaces or hyphens other than in the 3-3-4 grouping")


@pytest.mark.parametrize("value", [None, "", "   ", "\t\n"])
def test_nhs_number_problem_reports_empty(value):
    assert nhs_number_problem(value) == "is empty"


def test_nhs_number_problem_reports_non_text():
    assert nhs_number_problem(9990000018) == "is not text"  # type: ignore[arg-type]
    assert not is_valid_nhs_number(9990000018)


@given(st.text(alphabet="0123456789 -", max_size=30))
def test_nhs_number_problem_never_echoes_the_digits(value):
    digits = re.sub("[^0-9]", "", value)
    problem = nhs_number_problem(value)

    if problem is not None and len(digits) >= 4:
        assert digits not in re.sub("[^0-9]", "", problem)


@given(ten_ascii_digits)
def test_check_digit_agrees_with_reference_package(digits):
    expected = nhs_number.calculate_checksum(digits[:9]) == int(digits[9])

    assert is_valid_nhs_number(digits) is expected


@given(written_numbers())
def test_check_digit_agrees_with_reference_package_for_written_forms(written):
    digits = normalise_nhs_number(written)
    assert digits is not None
    expected = nhs_number.calculate_checksum(digits[:9]) == int(digits[9])

    assert is_valid_nhs_number(written) is expected


@given(ten_ascii_digits)
def test_is_valid_agrees_with_reference_package_outside_scottish_chi_range(digits):
    # nhs_number.is_valid also rejects CHI-range numbers whose first six digits are not
    # a date; it checks no other range (the 999 test range is valid to it).
    in_chi_range = nhs_number.REGION_SCOTLAND.contains_number(digits)

    if not in_chi_range:
        assert is_valid_nhs_number(digits) is nhs_number.is_valid(digits)


def test_reference_package_accepts_999_test_range_numbers():
    assert all(nhs_number.is_valid(number) for number in VALID_TEST_NUMBERS)
    assert all(is_valid_nhs_number(number) for number in VALID_TEST_NUMBERS)


# --- is_test_range ----------------------------------------------------------------------


@pytest.mark.parametrize("number", ["9990000018", "999 000 0018", "999-000-0019"])
def test_is_test_range_true_for_999_numbers(number):
    assert is_test_range(number)


@pytest.mark.parametrize("number", ["9434765919", "9899999999", "99900000", "abc", ""])
def test_is_test_range_false_otherwise(number):
    assert not is_test_range(number)


# --- masking ----------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["9990000018", "999 000 0018", " 999-000-0018 "])
def test_mask_nhs_number_shows_last_four_digits(written):
    assert mask_nhs_number(written) == "*** *** 0018"


@pytest.mark.parametrize("value", ["999000001", "999000001O", "NHS 999 000 0018", "99 90000018"])
def test_mask_nhs_number_hides_unvalidated_input_entirely(value):
    assert mask_nhs_number(value) == "*" * len(value)


@given(st.text(max_size=20))
def test_mask_nhs_number_never_echoes_anything_but_four_digits(value):
    masked = mask_nhs_number(value)

    if normalise_nhs_number(value) is None:
        assert masked == "*" * len(value)
    else:
        assert re.fullmatch(r"\*\*\* \*\*\* [0-9]{4}", masked)


@pytest.mark.parametrize("value", [None, ""])
def test_mask_nhs_number_empty_for_missing(value):
    assert mask_nhs_number(value) == ""


# --- ibis expressions -------------------------------------------------------------------


def test_nhs_number_expr_matches_python_on_tricky_values_in_duckdb(duckdb_con):
    values = [*TRICKY_VALUES, "\x00" + "9990000018"]

    assert _engine_results(duckdb_con, values) == _python_expectations(values)


def test_nhs_number_is_valid_expr_false_for_null(duckdb_con):
    normalised, valid = _engine_results(duckdb_con, [None, "9990000018"])

    assert normalised == [None, "9990000018"]
    assert valid == [False, True]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(any_values, min_size=1, max_size=40))
def test_nhs_number_expr_agrees_with_python_in_duckdb(duckdb_con, values):
    assert _engine_results(duckdb_con, values) == _python_expectations(values)


# --- Pseudonymiser ----------------------------------------------------------------------


def test_pseudonymiser_rejects_short_key():
    with pytest.raises(ValueError, match="at least 32 bytes"):
        Pseudonymiser(b"x" * 31)


def test_pseudonymiser_rejects_key_that_is_not_bytes():
    with pytest.raises(TypeError, match="must be bytes"):
        Pseudonymiser("k" * 32)  # type: ignore[arg-type]


def test_person_id_is_hmac_sha256_of_normalised_number():
    expected = hmac.new(KEY, b"9990000018", hashlib.sha256).hexdigest()[:32]

    assert Pseudonymiser(KEY).person_id("999 000 0018") == expected
    # Pinned: a change here would split every person in two across loads.
    assert expected == "a9232021e78b7a864a4be7b89a81babe"


def test_person_id_is_deterministic():
    first = Pseudonymiser(KEY).person_id("9990000018")
    second = Pseudonymiser(bytearray(KEY)).person_id("9990000018")

    assert first == second


@given(valid_numbers)
def test_person_id_is_32_lowercase_hex(number):
    assert re.fullmatch("[0-9a-f]{32}", Pseudonymiser(KEY).person_id(number))


def test_person_id_differs_under_another_key():
    number = "9990000018"

    assert Pseudonymiser(KEY).person_id(number) != Pseudonymiser(OTHER_KEY).person_id(number)


def test_person_id_same_for_every_written_form():
    pseudonymiser = Pseudonymiser(KEY)
    forms = ["9990000018", "999 000 0018", "999-000-0018", " 9990000018\n"]

    assert len({pseudonymiser.person_id(form) for form in forms}) == 1


@pytest.mark.parametrize("value", ["9990000019", "999000001", "999 000 001X", ""])
def test_person_id_rejects_invalid_number_without_echoing_it(value):
    with pytest.raises(ValueError, match=r"^Cannot pseudonymise: the NHS number ") as caught:
        Pseudonymiser(KEY).person_id(value)

    if value:
        assert value not in str(caught.value)


def test_person_ids_maps_each_distinct_value():
    pseudonymiser = Pseudonymiser(KEY)

    result = pseudonymiser.person_ids(["9990000018", "999 000 0018", "9990000026", "9990000018"])

    assert result == {
        "9990000018": pseudonymiser.person_id("9990000018"),
        "999 000 0018": pseudonymiser.person_id("9990000018"),
        "9990000026": pseudonymiser.person_id("9990000026"),
    }


def test_person_ids_rejects_invalid_numbers_without_echoing_them():
    with pytest.raises(ValueError, match="2 of the NHS numbers given are not valid") as caught:
        Pseudonymiser(KEY).person_ids(["9990000018", "9990000019", "999000001"])

    assert "9990000019" not in str(caught.value)
    assert "999000001" not in str(caught.value)


def test_fingerprint_is_short_stable_and_key_specific():
    fingerprint = Pseudonymiser(KEY).fingerprint

    assert fingerprint == "sha256:448f331051120c71"
    assert Pseudonymiser(KEY).fingerprint == fingerprint
    assert Pseudonymiser(OTHER_KEY).fingerprint != fingerprint
    assert KEY.hex()[:16] not in fingerprint


def test_pseudonymiser_repr_shows_fingerprint_not_key():
    pseudonymiser = Pseudonymiser(KEY)

    assert repr(pseudonymiser) == "Pseudonymiser(fingerprint='sha256:448f331051120c71')"


# --- pseudonymise_column ----------------------------------------------------------------


def _sample_table() -> pa.Table:
    return pa.table(
        {
            "row": pa.array([1, 2, 3, 4, 5, 6, 7], pa.int64()),
            "nhs_number": pa.array(
                [
                    "9990000018",
                    "999 000 0018",
                    "9990000026",
                    "9990000019",
                    None,
                    "not known",
                    "9990000026",
                ],
                pa.string(),
            ),
            "ward": pa.array(list("ABCDEFG"), pa.string()),
        }
    )


def _expected_person_ids(source: pa.Table, pseudonymiser: Pseudonymiser) -> dict[int, str | None]:
    return {
        row: (pseudonymiser.person_id(number) if is_valid_nhs_number(number) else None)
        for row, number in zip(
            source["row"].to_pylist(), source["nhs_number"].to_pylist(), strict=True
        )
    }


def test_pseudonymise_column_matches_person_id(duckdb_con):
    source = _sample_table()
    pseudonymiser = Pseudonymiser(KEY)

    result = duckdb_con.to_pyarrow(
        pseudonymise_column(ibis.memtable(source), "nhs_number", pseudonymiser)
    )

    got = dict(zip(result["row"].to_pylist(), result["person_id"].to_pylist(), strict=True))
    assert got == _expected_person_ids(source, pseudonymiser)


def test_pseudonymise_column_leaves_no_raw_number(duckdb_con):
    source = _sample_table()

    result = duckdb_con.to_pyarrow(
        pseudonymise_column(ibis.memtable(source), "nhs_number", Pseudonymiser(KEY))
    )

    assert "nhs_number" not in result.column_names
    cells = [str(cell) for column in result.columns for cell in column.to_pylist()]
    for number in ["9990000018", "9990000026", "9990000019"]:
        assert not any(number in cell for cell in cells)


def test_pseudonymise_column_keeps_rows_and_column_order(duckdb_con):
    source = _sample_table()

    result = duckdb_con.to_pyarrow(
        pseudonymise_column(ibis.memtable(source), "nhs_number", Pseudonymiser(KEY), output="pid")
    )

    assert result.column_names == ["row", "pid", "ward"]
    assert sorted(result["row"].to_pylist()) == source["row"].to_pylist()
    assert dict(zip(result["row"].to_pylist(), result["ward"].to_pylist(), strict=True)) == dict(
        zip(source["row"].to_pylist(), source["ward"].to_pylist(), strict=True)
    )


def test_pseudonymise_column_handles_empty_table(duckdb_con):
    source = _sample_table().slice(0, 0)

    result = duckdb_con.to_pyarrow(
        pseudonymise_column(ibis.memtable(source), "nhs_number", Pseudonymiser(KEY))
    )

    assert result.num_rows == 0
    assert result.column_names == ["row", "person_id", "ward"]


def test_pseudonymise_column_rejects_missing_column():
    with pytest.raises(ValueError, match="no column 'nhs'"):
        pseudonymise_column(ibis.memtable(_sample_table()), "nhs", Pseudonymiser(KEY))


def test_pseudonymise_column_rejects_non_text_column():
    with pytest.raises(ValueError, match="must hold text"):
        pseudonymise_column(ibis.memtable(_sample_table()), "row", Pseudonymiser(KEY))


def test_pseudonymise_column_rejects_existing_output_column():
    with pytest.raises(ValueError, match="already has a column 'ward'"):
        pseudonymise_column(
            ibis.memtable(_sample_table()), "nhs_number", Pseudonymiser(KEY), output="ward"
        )


# --- PostgreSQL -------------------------------------------------------------------------


@pytest.mark.postgres
def test_people_expressions_and_pseudonymise_column_on_postgres(postgres_con):
    # PostgreSQL text cannot hold NUL, so the values are the tricky list only.
    values = TRICKY_VALUES
    name = f"mkdeal_test_people_{uuid.uuid4().hex}"
    source = pa.table(
        {
            "row": pa.array(range(len(values)), pa.int64()),
            "nhs_number": pa.array(values, pa.string()),
        }
    )
    pseudonymiser = Pseudonymiser(KEY)
    table = postgres_con.create_table(name, source, temp=True)
    try:
        checked = postgres_con.to_pyarrow(
            table.select(
                "row",
                n=normalise_nhs_number_expr(table.nhs_number),
                ok=nhs_number_is_valid_expr(normalise_nhs_number_expr(table.nhs_number)),
            ).order_by("row")
        )
        result = postgres_con.to_pyarrow(
            pseudonymise_column(table, "nhs_number", pseudonymiser).order_by("row")
        )
    finally:
        postgres_con.drop_table(name, force=True)

    assert (checked["n"].to_pylist(), checked["ok"].to_pylist()) == _python_expectations(values)
    assert result.column_names == ["row", "person_id"]
    assert result["person_id"].to_pylist() == [
        pseudonymiser.person_id(v) if is_valid_nhs_number(v) else None for v in values
    ]


@pytest.mark.parametrize("key", [b"k" * 32, b"a much longer key " * 8])
def test_hmac_pads_give_the_same_person_id_in_duckdb(key):
    pseudonymiser = Pseudonymiser(key)
    inner, outer = pseudonymiser.hmac_pads()
    con = duckdb.connect()

    got = con.execute(
        "SELECT left(sha256($outer || unhex(sha256($inner || encode($n)))), 32)",
        {"inner": inner, "outer": outer, "n": "9434765919"},
    ).fetchone()[0]

    assert got == pseudonymiser.person_id("9434765919")
