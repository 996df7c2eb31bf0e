"""People and keys: NHS number checks, the keyed pseudonym `person_id`, and masking.

Every person-level dataset carries `person_id`, a keyed pseudonym of the NHS number, so
datasets join on it without the number itself (see DESIGN.md, "People and keys"). This
module is pure domain logic: it reads no settings and no files and logs nothing. Callers
pass the pseudonymisation key in; messages it raises never contain an NHS number.

The NHS number check is written twice, once in Python for single values and once as an
ibis expression so that bulk validation runs set-based in the engine (DuckDB, PostgreSQL).
Both accept exactly the same input:

* surrounding ASCII whitespace (space, tab, newline, carriage return, vertical tab, form
  feed) is ignored;
* what remains is 10 ASCII digits, either run together ("9434765919") or in the usual
  3-3-4 grouping with single spaces ("943 476 5919") or single hyphens ("943-476-5919"),
  one separator style per number;
* the 10th digit is the modulus 11 check digit of the first nine.

Number ranges are deliberately not checked: a number in the 999 test range is valid when
its check digit is right (synthetic people use 999 numbers only).
"""

from __future__ import annotations

import hashlib
import hmac
import operator
import re
from collections.abc import Iterable

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from mkdeal.keys import key_fingerprint

__all__ = [
    "PERSON_ID_HEX_LENGTH",
    "Pseudonymiser",
    "is_test_range",
    "is_valid_nhs_number",
    "mask_nhs_number",
    "nhs_number_is_valid_expr",
    "nhs_number_problem",
    "normalise_nhs_number",
    "normalise_nhs_number_expr",
    "pseudonymise_column",
]

#: Length of a `person_id`: 32 hexadecimal characters, the first 128 bits of the HMAC.
PERSON_ID_HEX_LENGTH = 32

#: The shortest pseudonymisation key accepted, in bytes: 256 bits, the SHA-256 output
#: size. The key is all that stands between a person_id and the 10**9 possible numbers.
MINIMUM_KEY_BYTES = 32

#: The prefix NHS England keeps for test and synthetic records; see `is_test_range`.
TEST_RANGE_PREFIX = "999"

# Weights of the first nine digits in the modulus 11 check, NHS Data Dictionary.
_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)

# The whitespace that may surround a number. Python's str.strip() would also remove
# Unicode spaces, which SQL engines do not; an explicit ASCII set keeps both sides equal.
_SPACE_CLASS = "[ \t\n\r\x0b\x0c]"
_ACCEPTED_FORMS = "[0-9]{10}|[0-9]{3} [0-9]{3} [0-9]{4}|[0-9]{3}-[0-9]{3}-[0-9]{4}"
# One pattern for Python (re), DuckDB (RE2) and PostgreSQL (ARE): no backreferences,
# no shorthand classes, anchored at both ends.
_NHS_NUMBER_PATTERN = f"^{_SPACE_CLASS}*({_ACCEPTED_FORMS}){_SPACE_CLASS}*$"
_NHS_NUMBER_RE = re.compile(_NHS_NUMBER_PATTERN)
_PLAIN_PATTERN = "^[0-9]{10}$"
# Everything normalisation deletes from a value that matches the full pattern.
_REMOVABLE_CLASS = "[ \t\n\r\x0b\x0c-]"
_REMOVABLE_RE = re.compile(_REMOVABLE_CLASS)
_SPACE_CHARS = " \t\n\r\x0b\x0c"
_DIGITS = frozenset("0123456789")
# Maps the ASCII digit bytes to their values, so a check digit needs no int() per digit.
_DIGIT_VALUES = bytes.maketrans(b"0123456789", bytes(range(10)))

# The join key's name inside pseudonymise_column; chosen to be unlikely in any extract.
_KEY_COLUMN = "_mkdeal_nhs_number_key"


# --- single values --------------------------------------------------------------------


def normalise_nhs_number(value: str) -> str | None:
    """Return the 10 digits of an NHS number written in an accepted form, else None.

    Accepted: "9434765919", "943 476 5919" and "943-476-5919", with any surrounding ASCII
    whitespace. Anything else (other grouping, mixed separators, other characters,
    non-ASCII digits, not a string) gives None. The check digit is not examined here.
    """
    if not isinstance(value, str):
        return None
    if len(value) == 10 and value.isascii() and value.isdigit():
        return value  # the common case, already normalised
    if _NHS_NUMBER_RE.fullmatch(value) is None:
        return None
    return _REMOVABLE_RE.sub("", value)


def _check_digit(first_nine: str) -> int | None:
    """The modulus 11 check digit of nine ASCII digits, or None where the result is 10."""
    values = first_nine.encode("ascii").translate(_DIGIT_VALUES)
    total = sum(map(operator.mul, values, _WEIGHTS))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def nhs_number_problem(value: str | None) -> str | None:
    """Say what is wrong with an NHS number, or return None when it is valid.

    The answer is a sentence fragment to follow the field's name, for example
    "NHS number has 9 digits, not 10". It never repeats the value.

    The check digit rule is the NHS Data Dictionary's, data element NHS NUMBER
    (https://www.datadictionary.nhs.uk/data_elements/nhs_number.html and the attribute
    page https://www.datadictionary.nhs.uk/attributes/nhs_number.html): the NHS number
    is 10 numeric digits and the tenth is a check digit validated with the Modulus 11
    algorithm, whose use is mandatory:

    1. multiply each of the first nine digits by a weight, 10 for the first down to 2 for
       the ninth;
    2. add the products;
    3. divide the total by 11 and take the remainder;
    4. subtract the remainder from 11 to give the check digit; a result of 11 means a
       check digit of 0, and a result of 10 means the number is invalid (never issued);
    5. the number is invalid unless the result equals the tenth digit.

    Number ranges are not checked (numbers starting 999 are test numbers, valid here).
    """
    if value is None:
        return "is empty"
    if not isinstance(value, str):
        return "is not text"
    stripped = value.strip(_SPACE_CHARS)
    if not stripped:
        return "is empty"
    digits = normalise_nhs_number(value)
    if digits is None:
        if any(char not in _DIGITS and char not in " -" for char in stripped):
            return "contains characters other than digits"
        count = sum(char in _DIGITS for char in stripped)
        if count != 10:
            return f"has {count} digit{'' if count == 1 else 's'}, not 10"
        return "has spaces or hyphens other than in the 3-3-4 grouping (for example 943 476 5919)"
    check = _check_digit(digits[:9])
    if check is None:
        return "fails the modulus 11 check digit (no check digit fits its first nine digits)"
    if check != int(digits[9]):
        return "fails the modulus 11 check digit"
    return None


def is_valid_nhs_number(value: object) -> bool:
    """True when `value` is an NHS number in an accepted form with a correct check digit."""
    digits = normalise_nhs_number(value)  # type: ignore[arg-type]
    return digits is not None and _check_digit(digits[:9]) == int(digits[9])


def is_test_range(nhs_number: str) -> bool:
    """True when the number (in an accepted form) starts 999, the test range.

    NHS England keeps NHS numbers 999 000 0000 to 999 999 9999 for test and synthetic
    records, never issued to a patient (NHS Digital, "Synthetic data in live
    environments", e-Referral Service document library,
    https://digital.nhs.uk/services/e-referral-service/document-library/synthetic-data-in-live-environments;
    NHS England's own Manage vaccinations in schools service generates its test numbers
    in this range). The check digit is not examined: use `is_valid_nhs_number` for that.
    """
    digits = normalise_nhs_number(nhs_number)
    return digits is not None and digits.startswith(TEST_RANGE_PREFIX)


def mask_nhs_number(value: str | None) -> str:
    """Mask an NHS number for showing to a person or writing to a quarantine row.

    A number in an accepted form shows only its last four digits ("*** *** 5919");
    anything else becomes asterisks of the same length, so unvalidated input is never
    echoed. None and "" give "".
    """
    if not value:
        return ""
    digits = normalise_nhs_number(value)
    if digits is not None:
        return f"*** *** {digits[6:]}"
    return "*" * len(value)


# --- set-based, in the engine ----------------------------------------------------------


def normalise_nhs_number_expr(column: ir.StringValue) -> ir.StringValue:
    """The ibis form of `normalise_nhs_number`: 10 digits, or NULL when not accepted.

    Runs in the engine (DuckDB, PostgreSQL) with the same regular expression as the
    Python function, written without backreferences or shorthand classes so that Python,
    RE2 (DuckDB) and PostgreSQL read it alike. Ten plain digits, the usual case, cost one
    cheap match; a value that matches the full pattern holds only digits, separators and
    surrounding whitespace, so deleting every space, hyphen and whitespace leaves its ten
    digits.
    """
    return ibis.cases(
        (column.re_search(_PLAIN_PATTERN), column),
        (column.re_search(_NHS_NUMBER_PATTERN), column.re_replace(_REMOVABLE_CLASS, "")),
        else_=ibis.null("string"),
    )


def nhs_number_is_valid_expr(column: ir.StringValue) -> ir.BooleanValue:
    """The ibis form of the modulus 11 check, for a column of normalised numbers.

    True only for exactly 10 ASCII digits whose check digit is right; NULL gives False.
    Apply it to `normalise_nhs_number_expr(column)` to accept the same written forms as
    `is_valid_nhs_number`.

    The expression reads its input eleven times (a shape check and one read per digit).
    DuckDB computes a repeated sub-expression once; PostgreSQL does not, and inlines
    even a subquery's column, so there `nhs_number_is_valid_expr(normalise_nhs_number_expr(c))`
    runs the normalisation eleven times a row. For bulk checks on PostgreSQL, store the
    normalised value first and check the stored column.

    The arithmetic casts nothing, so it cannot fail on bad input: each digit is its
    character code minus 48. The rule "11 - (S mod 11) equals the tenth digit d, where
    11 means 0 and 10 means invalid" (S the weighted sum of the first nine) is the same
    as "(S + d) mod 11 = 0": the first says d = -S (mod 11) with d in 0..9, and the only
    remainder with no such d is the one giving 10, which the second rejects too.
    """
    digits = [column.substr(position, 1).ascii_str() - 48 for position in range(10)]
    weighted = digits[9]
    for weight, digit in zip(_WEIGHTS, digits[:9], strict=True):
        weighted = weighted + digit * weight
    shape_ok = column.re_search(_PLAIN_PATTERN)
    return (shape_ok & (weighted % 11 == 0)).fill_null(False)


# --- pseudonyms ------------------------------------------------------------------------


class Pseudonymiser:
    """Turns NHS numbers into `person_id`s with one pseudonymisation key.

    `person_id` is the first 32 hexadecimal characters (128 bits) of
    HMAC-SHA256(key, the normalised 10-digit NHS number as ASCII). The key is held only
    in memory and never shown; `fingerprint` identifies it without revealing it.
    """

    __slots__ = ("_fingerprint", "_hmac", "_pads")

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes | bytearray):
            raise TypeError("The pseudonymisation key must be bytes.")
        if len(key) < MINIMUM_KEY_BYTES:
            raise ValueError(
                f"The pseudonymisation key is {len(key)} bytes long; it must be at least "
                f"{MINIMUM_KEY_BYTES} bytes. Generate a new random key of 32 bytes or more."
            )
        key = bytes(key)
        self._hmac = hmac.new(key, digestmod=hashlib.sha256)
        # RFC 2104: a key longer than the block is hashed first, then padded to 64 bytes.
        block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
        self._pads = (bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block))
        self._fingerprint = key_fingerprint(key)

    @property
    def fingerprint(self) -> str:
        """A short, non-reversible name for the key, recorded in every load manifest.

        "sha256:" and the first 16 hexadecimal characters of SHA-256 over a fixed,
        domain-separating prefix and the key. It tells keys apart; it does not let
        anyone recompute person_ids.
        """
        return self._fingerprint

    def __repr__(self) -> str:
        return f"Pseudonymiser(fingerprint={self._fingerprint!r})"

    def hmac_pads(self) -> tuple[bytes, bytes]:
        """The inner and outer padded keys of RFC 2104, for an engine to compute the same
        HMAC set-based: sha256(outer + sha256(inner + number)). They are as secret as the
        key: pass them only as query parameters, never in SQL text or logs."""
        return self._pads

    def _digest(self, digits: str) -> str:
        mac = self._hmac.copy()
        mac.update(digits.encode("ascii"))
        return mac.hexdigest()[:PERSON_ID_HEX_LENGTH]

    def person_id(self, nhs_number: str) -> str:
        """The person_id of one NHS number; ValueError (without the number) if invalid."""
        problem = nhs_number_problem(nhs_number)
        if problem is not None:
            raise ValueError(f"Cannot pseudonymise: the NHS number {problem}.")
        digits = normalise_nhs_number(nhs_number)
        assert digits is not None  # nhs_number_problem returned None, so it normalises
        return self._digest(digits)

    def person_ids(self, numbers: Iterable[str]) -> dict[str, str]:
        """person_ids for many NHS numbers, keyed by each distinct value as given.

        Raises ValueError, saying how many values are invalid but not which, if any is.
        """
        result: dict[str, str] = {}
        invalid = 0
        first_problem: str | None = None
        for value in numbers:
            if value in result:
                continue
            if not is_valid_nhs_number(value):
                invalid += 1
                first_problem = first_problem or nhs_number_problem(value)
                continue
            digits = normalise_nhs_number(value)
            assert digits is not None  # a valid number normalises
            result[value] = self._digest(digits)
        if invalid:
            raise ValueError(
                f"Cannot pseudonymise: {invalid} of the NHS numbers given "
                f"{'is' if invalid == 1 else 'are'} not valid (the first {first_problem})."
            )
        return result


def pseudonymise_column(
    table: ir.Table,
    column: str,
    pseudonymiser: Pseudonymiser,
    *,
    output: str = "person_id",
) -> ir.Table:
    """Replace the NHS number column of `table` with its person_id, set-based.

    One query fetches the distinct normalised numbers; they are checked and their HMACs
    computed once per distinct number in Python (the key never enters the engine, and the
    check is cheaper there than PostgreSQL's re-evaluation of `nhs_number_is_valid_expr`);
    the mapping of valid numbers goes back as an `ibis.memtable` and is left-joined on the
    normalised number. The result has every other column in its place, `output` where
    the number was, and no raw or normalised NHS number. `output` is NULL where the
    number is missing or invalid; find those rows with `nhs_number_is_valid_expr` before
    calling this, to quarantine them. Row order is not kept (it is a join).

    The mapping holds the distinct numbers while the query runs: on PostgreSQL ibis
    uploads it as a temporary table of the session (row by row, about 50,000 rows a
    second), and on DuckDB it is registered in memory.
    """
    columns = list(table.columns)
    if column not in columns:
        raise ValueError(f"The table has no column {column!r} to pseudonymise.")
    if not table[column].type().is_string():
        raise ValueError(
            f"The column {column!r} must hold text to be pseudonymised; it holds "
            f"{table[column].type()}. Read NHS numbers as text so leading zeros survive."
        )
    if output in columns:
        raise ValueError(
            f"The table already has a column {output!r}; choose another name for the output."
        )
    if _KEY_COLUMN in columns:
        raise ValueError(f"The table has a column named {_KEY_COLUMN!r}, which is reserved.")

    normalised = normalise_nhs_number_expr(table[column])
    distinct = table.select(**{_KEY_COLUMN: normalised}).distinct()
    candidates = distinct.to_pyarrow()[_KEY_COLUMN].to_pylist()
    numbers = [number for number in candidates if is_valid_nhs_number(number)]
    ids = [pseudonymiser._digest(number) for number in numbers]
    mapping = ibis.memtable(
        pa.table(
            [pa.array(numbers, pa.string()), pa.array(ids, pa.string())],
            names=[_KEY_COLUMN, output],
        )
    )

    keyed = table.mutate(**{_KEY_COLUMN: normalised})
    joined = keyed.left_join(mapping, keyed[_KEY_COLUMN] == mapping[_KEY_COLUMN])
    return joined.select(*[joined[output] if name == column else joined[name] for name in columns])
