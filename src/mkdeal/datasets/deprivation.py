"""The published English Indices of Deprivation files, read into the area_deprivation form.

An I/O edge: it reads MHCLG's files as they are published and writes a CSV that
`mkdeal load area_deprivation` then checks like any partner's file.

- IoD2025 File 7 is on LSOA 2021: one row out per row in.
- IoD2019 (File 7, or File 1 as CSV) is on LSOA 2011 and reaches LSOA 2021 through the
  ONS "LSOA (2011) to LSOA (2021) to Local Authority District (2022)" exact-fit lookup. A
  2021 area made from several 2011 areas (CHGIND M, or X) takes the values of the 2011
  area with the largest population (File 7's mid-2015 total), ties and files without a
  population going to the most deprived (lowest rank); deciles are never averaged.
  docs/adr/0005-deprivation-files.md gives the reasons.

Headers are matched by name (trimmed, any case, on a stable start) because published
headers get truncated and gain trailing spaces; never by position. A bad value refuses
the file with its first lines named: nothing is dropped quietly. The work is set-based in
an in-process DuckDB; no Python loop runs per row.
"""

from __future__ import annotations

import csv
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv

from mkdeal.datasets.definitions.area_deprivation import AREA_DEPRIVATION
from mkdeal.errors import UserError

log = logging.getLogger(__name__)

INDEX_VERSIONS = ("iod2025", "imd2019")
# A file with at least this many rows is taken to be the national file (England has
# 32,844 LSOAs on 2011 boundaries and 33,755 on 2021 boundaries).
NATIONAL_ROWS = 30_000
LSOA_2011_COUNT_ENGLAND = 32_844
LSOA_2021_COUNT_ENGLAND = 33_755
# How many bad lines or codes a message names before "and N more".
SHOWN = 5
LSOA_PATTERN = "E01[0-9]{6}"
# Thousands separators, stray quotes and spaces (also no-break spaces) in a number, as a
# DuckDB (RE2) pattern inside an SQL string (the apostrophe doubled).
NUMBER_NOISE = "[[:space:],\"''\\x{00A0}]"
WHOLE = "[0-9]+([.]0+)?"
DECIMAL = "-?[0-9]+([.][0-9]+)?"


@dataclass(frozen=True)
class DeprivationFile:
    """A converted index file: the table in contract form and counts to report."""

    table: pa.Table
    version: str
    read: int  # data rows read from the index file
    areas: int  # LSOA 2021 rows out
    merged: int  # of those, areas made from more than one 2011 area (M or X)
    left_out: tuple[str, ...]  # 2021 areas missing some of their 2011 areas in the file
    notes: tuple[str, ...]


@dataclass(frozen=True)
class _Field:
    """A column to find: the published header (for messages) and the start it is matched on."""

    name: str
    header: str
    start: str


_LSOA_2021 = _Field("lsoa", "LSOA code (2021)", "LSOA code (2021)")
_LSOA_2011 = _Field("lsoa", "LSOA code (2011)", "LSOA code (2011)")
_LAD_2024 = _Field("lad", "Local Authority District code (2024)", "Local Authority District code")
_SCORE = _Field(
    "score",
    "Index of Multiple Deprivation (IMD) Score",
    "Index of Multiple Deprivation (IMD) Score",
)
_RANK = _Field(
    "rank",
    "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)",
    "Index of Multiple Deprivation (IMD) Rank",
)
_DECILE = _Field(
    "decile",
    "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)",
    "Index of Multiple Deprivation (IMD) Decile",
)
_POPULATION = _Field(
    "population",
    "Total population: mid 2015 (excluding prisoners)",
    "Total population: mid 2015",
)
# The ONS lookup's fields, matched whole (any case); the ArcGIS download may prefix F_.
_LOOKUP_FIELDS = ("LSOA11CD", "LSOA21CD", "CHGIND", "LAD22CD")
_LOOKUP_NAME = (
    "the ONS LSOA (2011) to LSOA (2021) to Local Authority District (2022) exact-fit lookup "
    "for England and Wales"
)


def convert(index: str, path: Path, lookup: Path | None = None) -> DeprivationFile:
    """Read a published index file (and for IMD 2019 the ONS lookup) into contract form."""
    version = index.strip().lower()
    if version == "iod2025":
        if lookup is not None:
            raise UserError(
                "The 2025 Indices are published on LSOA 2021 and need no lookup; leave out "
                "the lookup file."
            )
        return read_iod2025(path)
    if version == "imd2019":
        if lookup is None:
            raise UserError(
                "IMD 2019 is published on LSOA 2011, so mkdeal needs "
                f"{_LOOKUP_NAME} (the file with CHGIND) to bring it to LSOA 2021: give it "
                "as the lookup file (--lookup)."
            )
        return read_imd2019(path, lookup)
    raise UserError(
        f"Unknown index {index!r}: give iod2025 (English Indices of Deprivation 2025, File 7) "
        "or imd2019 (IoD2019 File 7 or File 1, with the ONS exact-fit lookup)."
    )


def read_iod2025(path: Path) -> DeprivationFile:
    """IoD2025 File 7 (LSOA 2021) in contract form: every row kept, all values as text."""
    header, raw = _read_csv(path, "IoD2025 File 7")
    columns = {
        field.name: _find(path, header, field, "IoD2025 File 7")
        for field in (_LSOA_2021, _LAD_2024, _SCORE, _RANK, _DECILE)
    }
    connection = duckdb.connect()
    try:
        _stage(connection, raw, columns)
        _refuse_bad_values(
            connection,
            path,
            header,
            columns,
            checks=[
                ("lsoa", _not_lsoa("lsoa"), "is not an LSOA 2021 code (E01 and six digits)"),
                ("decile", _not_decile(), "is not a decile from 1 to 10"),
                ("rank", _not_rank(), "is not a whole number of at least 1"),
                ("score", _not_score(), "is not a number"),
            ],
        )
        _refuse_repeats(connection, path, header[columns["lsoa"]])
        table = connection.sql(
            _contract_select(
                lsoa_2021="lsoa",
                imd_version="'iod2025'",
                local_authority_code="nullif(trim(lad), '')",
                imd_decile=_whole_text("decile"),
                imd_rank=_whole_text("rank"),
                imd_score="score_clean",
                lsoa_2011="NULL",
                lsoa_change_indicator="NULL",
            )
            + " FROM staged ORDER BY _line"
        ).to_arrow_table()
    finally:
        connection.close()
    notes = [
        "IoD2025 ranks are among the 33,755 LSOA 2021 areas of England; scores and ranks are "
        "not comparable with IMD 2019's."
    ]
    if raw.num_rows < NATIONAL_ROWS:
        notes.append(
            f"The file has {raw.num_rows:,} areas, not England's {LSOA_2021_COUNT_ENGLAND:,}: "
            "only these are converted."
        )
    result = DeprivationFile(
        table=_as_text(table),
        version="iod2025",
        read=raw.num_rows,
        areas=table.num_rows,
        merged=0,
        left_out=(),
        notes=tuple(notes),
    )
    log.info("Read %d rows of IoD2025 from %s: %d areas.", result.read, path, result.areas)
    return result


def read_imd2019(path: Path, lookup: Path) -> DeprivationFile:
    """IoD2019 File 7 or File 1 (LSOA 2011), brought to LSOA 2021 through the ONS lookup."""
    header, raw = _read_csv(path, "IoD2019 File 7 (or File 1)")
    columns = {
        field.name: _find(path, header, field, "IoD2019 File 7 (or File 1)")
        for field in (_LSOA_2011, _RANK, _DECILE)
    }
    for field in (_SCORE, _POPULATION):
        found = _find(path, header, field, "IoD2019 File 7", required=False)
        if found is not None:
            columns[field.name] = found
    has_score, has_population = "score" in columns, "population" in columns
    lookup_header, lookup_raw = _read_csv(lookup, "ONS exact-fit lookup")
    lookup_columns = _find_lookup_fields(lookup, lookup_header)

    connection = duckdb.connect()
    try:
        _stage(connection, raw, columns)
        checks = [
            ("lsoa", _not_lsoa("lsoa"), "is not an LSOA 2011 code (E01 and six digits)"),
            ("decile", _not_decile(), "is not a decile from 1 to 10"),
            ("rank", _not_rank(), "is not a whole number of at least 1"),
        ]
        if has_score:
            checks.append(("score", _not_score(), "is not a number"))
        if has_population:
            checks.append(
                ("population", _not_whole("population"), "is not a whole number of people")
            )
        _refuse_bad_values(connection, path, header, columns, checks)
        _refuse_repeats(connection, path, header[columns["lsoa"]])
        connection.execute(
            "CREATE TABLE areas_2011 AS SELECT lsoa AS lsoa_2011, "
            f"{_whole_text('decile')} AS decile, {_whole_number('rank')} AS rank, "
            f"{'score_clean' if has_score else 'NULL::VARCHAR'} AS score, "
            f"{_whole_number('population') if has_population else 'NULL::BIGINT'} AS population "
            "FROM staged"
        )
        welsh = _stage_lookup(connection, lookup, lookup_header, lookup_raw, lookup_columns)
        _refuse_national_mismatch(connection, path, lookup, raw.num_rows)
        # Each 2021 area's 2011 parts, and how many of them the index file has.
        connection.execute(
            "CREATE TABLE parts AS SELECT f.lsoa_2021, count(*) AS parts, "
            "count(a.lsoa_2011) AS present FROM feeds f "
            "LEFT JOIN areas_2011 a ON a.lsoa_2011 = f.lsoa_2011 GROUP BY f.lsoa_2021"
        )
        # The stated rule, one window over every area: largest population, then lowest rank.
        table = connection.sql(
            _contract_select(
                lsoa_2021="f.lsoa_2021",
                imd_version="'imd2019'",
                local_authority_code="f.lad",
                imd_decile="a.decile",
                imd_rank="CAST(a.rank AS VARCHAR)",
                imd_score="a.score",
                lsoa_2011="f.lsoa_2011",
                lsoa_change_indicator="f.chgind",
            )
            + " FROM feeds f JOIN areas_2011 a ON a.lsoa_2011 = f.lsoa_2011 "
            "JOIN parts p ON p.lsoa_2021 = f.lsoa_2021 AND p.present = p.parts "
            "QUALIFY row_number() OVER (PARTITION BY f.lsoa_2021 "
            "ORDER BY a.population DESC NULLS LAST, a.rank, f.lsoa_2011) = 1 "
            "ORDER BY f.lsoa_2021"
        ).to_arrow_table()
        merged = _count(
            connection,
            "SELECT count(*) FROM parts WHERE parts > 1 AND present = parts",
        )
        left_out = tuple(
            row[0]
            for row in connection.execute(
                "SELECT lsoa_2021 FROM parts WHERE present > 0 AND present < parts "
                "ORDER BY lsoa_2021"
            ).fetchall()
        )
        outside = _count(connection, "SELECT count(*) FROM parts WHERE present = 0")
        unused = [
            row[0]
            for row in connection.execute(
                "SELECT lsoa_2011 FROM areas_2011 WHERE lsoa_2011 NOT IN "
                "(SELECT lsoa_2011 FROM feeds) ORDER BY lsoa_2011"
            ).fetchall()
        ]
    finally:
        connection.close()

    notes = [
        f"IMD 2019 ranks are among the {LSOA_2011_COUNT_ENGLAND:,} LSOA 2011 areas of England "
        "and are not comparable with IoD2025 ranks."
    ]
    if not has_population:
        notes.append(
            "The file has no population column (IoD2019 File 1 has none), so a 2021 area made "
            "from several 2011 areas takes the values of the most deprived of them."
        )
    if not has_score:
        notes.append("The file has no IMD score (File 1 has none), so imd_score is empty.")
    if merged:
        rule = (
            "the part with the largest population, ties going to the most deprived"
            if has_population
            else "the most deprived part"
        )
        notes.append(
            f"{_areas(merged)} made from several 2011 areas (CHGIND M or X): each takes the "
            f"values of {rule}; deciles are never averaged."
        )
    if left_out:
        notes.append(
            f"{_areas(len(left_out), 'LSOA 2021 area was', 'LSOA 2021 areas were')} left out "
            "because the index file lacks some of the 2011 areas they are made from: "
            f"{_some(left_out)}."
        )
    if outside and raw.num_rows < NATIONAL_ROWS:
        others = _areas(outside, "other LSOA 2021 area", "other LSOA 2021 areas")
        notes.append(
            f"The index file has {raw.num_rows:,} areas, not England's "
            f"{LSOA_2011_COUNT_ENGLAND:,}: the lookup's {others}, whose 2011 areas it lacks, "
            "are not converted."
        )
    if unused:
        notes.append(
            f"{_areas(len(unused), 'LSOA 2011 area', 'LSOA 2011 areas')} of the index file are "
            f"not in the lookup and were not used: {_some(unused)}."
        )
    if welsh:
        notes.append(
            f"Ignored {_areas(welsh, 'Welsh row', 'Welsh rows')} of the lookup: the IMD is for "
            "England only."
        )
    result = DeprivationFile(
        table=_as_text(table),
        version="imd2019",
        read=raw.num_rows,
        areas=table.num_rows,
        merged=merged,
        left_out=left_out,
        notes=tuple(notes),
    )
    log.info(
        "Read %d rows of IMD 2019 from %s with %s: %d LSOA 2021 areas, %d merged, %d left out.",
        result.read,
        path,
        lookup,
        result.areas,
        result.merged,
        len(result.left_out),
    )
    return result


def write_contract_csv(file: DeprivationFile, out: Path) -> Path:
    """Write the converted table as a CSV with the contract's header, for `mkdeal load`."""
    names = AREA_DEPRIVATION.column_names
    columns = [file.table.column(name).to_pylist() for name in names]
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(
            ["" if value is None else value for value in row] for row in zip(*columns, strict=True)
        )
    os.replace(partial, out)
    log.info("Wrote %d rows of area_deprivation (%s) to %s.", file.areas, file.version, out)
    return out


# Reading and matching -------------------------------------------------------------------


def _read_csv(path: Path, what: str) -> tuple[list[str], pa.Table]:
    """The header as published, and every column as text (named c0, c1, ...)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"There is no file {path}; give the path of the {what} (a CSV file).")
    with path.open("rb") as handle:
        start = handle.read(8)
    if start.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise UserError(
            f"{path} is a spreadsheet (or zip) file, not CSV. Download the CSV version of the "
            f"{what}, or save its data sheet as CSV (UTF-8)."
        )
    encoding = "utf-8"
    try:
        header = _header_row(path, "utf-8-sig")
    except UnicodeDecodeError:
        # Files saved from Excel on Windows may be in Windows-1252.
        encoding = "cp1252"
        header = _header_row(path, encoding)
    if not header or not any(name.strip() for name in header):
        raise UserError(f"{path} is empty; the {what} is a CSV file with a header row.")
    names = [f"c{number}" for number in range(len(header))]
    try:
        table = pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(column_names=names, skip_rows=1, encoding=encoding),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid as error:
        # Arrow quotes the offending row after its reason: keep the reason only.
        parts = str(error).split("\n")[0].split(": ")
        reason = parts[1] if parts[0] == "CSV parse error" and len(parts) > 1 else parts[0]
        raise UserError(
            f"{path} could not be read as CSV ({reason}). Check it is the {what} saved as CSV, "
            "with the same number of columns on every line."
        ) from None
    if table.num_rows == 0:
        raise UserError(f"{path} has a header but no rows; the {what} has one row per area.")
    return [name.replace("\ufeff", "") for name in header], table


def _header_row(path: Path, encoding: str) -> list[str]:
    with path.open(newline="", encoding=encoding) as handle:
        return next(csv.reader(handle), [])


def _normal(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").split()).casefold()


def _find(
    path: Path, header: list[str], field: _Field, what: str, *, required: bool = True
) -> int | None:
    """The position of the one column whose name starts like `field` (trimmed, any case)."""
    start = _normal(field.start)
    found = [number for number, name in enumerate(header) if _normal(name).startswith(start)]
    if len(found) > 1:
        raise UserError(
            f"{path} has {len(found)} columns that could be {field.header!r}: "
            f"{', '.join(repr(header[number]) for number in found)}. Give the {what} as "
            "published, with one such column."
        )
    if found:
        return found[0]
    if not required:
        return None
    raise UserError(
        f"{path} has no column {field.header!r} (mkdeal matches it by its start, "
        f"{field.start!r}, in any case). Its columns begin {_some_headers(header)}. "
        f"{_looks_like(header)}"
    )


def _find_lookup_fields(path: Path, header: list[str]) -> dict[str, int]:
    plain = {}
    for number, name in enumerate(header):
        key = _normal(name).upper()
        plain.setdefault(key.removeprefix("F_"), number)
    if "LSOA11CD" in plain and "LSOA21CD" in plain and "CHGIND" not in plain:
        raise UserError(
            f"{path} has no CHGIND column: this looks like the best-fit lookup. mkdeal needs "
            f"the exact-fit lookup, which has CHGIND: {_LOOKUP_NAME}."
        )
    missing = [field for field in _LOOKUP_FIELDS if field not in plain]
    if missing:
        raise UserError(
            f"{path} has no column {', '.join(missing)}, so it is not {_LOOKUP_NAME} (fields "
            "LSOA11CD, LSOA11NM, CHGIND, LSOA21CD, LSOA21NM, LAD22CD, LAD22NM, LAD22NMW). Its "
            f"columns begin {_some_headers(header)}. {_looks_like(header)}"
        )
    return {field: plain[field] for field in _LOOKUP_FIELDS}


def _some_headers(header: list[str]) -> str:
    shown = ", ".join(repr(name) for name in header[:6])
    return shown + (f" and {len(header) - 6} more" if len(header) > 6 else "")


def _looks_like(header: list[str]) -> str:
    """A guess at which published file this is, to say in a message."""
    names = [_normal(name) for name in header]

    def has(start: str) -> bool:
        return any(name.startswith(start) for name in names)

    bare = {name.removeprefix("f_") for name in names}
    if "lsoa11cd" in bare and "lsoa21cd" in bare:
        kind = "exact-fit" if "chgind" in bare else "best-fit"
        return (
            f"It looks like the ONS {kind} LSOA 2011 to 2021 lookup, which is not an index "
            "file: perhaps the files were given the wrong way round."
        )
    if has("lsoa code (2021)"):
        return (
            "It looks like an IoD2025 file (LSOA 2021): convert it as iod2025, from File 7 "
            "(File_7_IoD2025_All_Ranks_Scores_Deciles_Population_Denominators.csv)."
        )
    if has("lsoa code (2011)"):
        if has("index of multiple deprivation (imd) rank"):
            return (
                "It looks like an IoD2019 file (LSOA 2011): convert it as imd2019, with the "
                "ONS exact-fit lookup."
            )
        if has("total population"):
            return (
                "It looks like IoD2019 File 6 (population denominators only): give File 7, "
                "which has the IMD with the populations, or File 1."
            )
        return (
            "It looks like an IoD2019 file without the IMD itself (perhaps a domain file): "
            "give File 7 or File 1."
        )
    return (
        "Perhaps it is the wrong file: mkdeal reads MHCLG's IoD2025 File 7, IoD2019 File 7 or "
        f"File 1 (as CSV), and {_LOOKUP_NAME}."
    )


# Checking, set-based ---------------------------------------------------------------------


def _stage(connection: duckdb.DuckDBPyConnection, raw: pa.Table, columns: dict) -> None:
    """The wanted columns as `staged`, trimmed, numbers cleaned, with each row's line number."""
    lines = pa.array(range(2, raw.num_rows + 2), pa.int64())  # the header is line 1
    picked = pa.table(
        {name: raw.column(number) for name, number in columns.items()} | {"_line": lines}
    )
    connection.register("picked", picked)
    cleaned = [
        f"trim({name}) AS {name}, nullif(regexp_replace({name}, '{NUMBER_NOISE}', '', 'g'), '') "
        f"AS {name}_clean"
        for name in columns
    ]
    connection.execute(f"CREATE TABLE staged AS SELECT _line, {', '.join(cleaned)} FROM picked")
    connection.unregister("picked")


def _not_lsoa(name: str) -> str:
    return f"NOT regexp_full_match(coalesce({name}, ''), '{LSOA_PATTERN}')"


def _not_whole(name: str) -> str:
    return f"NOT regexp_full_match(coalesce({name}_clean, ''), '{WHOLE}')"


def _not_decile() -> str:
    return (
        f"({_not_whole('decile')}) OR NOT "
        f"(TRY_CAST(regexp_replace(decile_clean, '[.]0+$', '') AS BIGINT) BETWEEN 1 AND 10)"
    )


def _not_rank() -> str:
    return f"({_not_whole('rank')}) OR coalesce({_whole_number('rank')} < 1, true)"


def _not_score() -> str:
    return f"score_clean IS NOT NULL AND NOT regexp_full_match(score_clean, '{DECIMAL}')"


def _whole_number(name: str) -> str:
    return f"TRY_CAST(regexp_replace({name}_clean, '[.]0+$', '') AS BIGINT)"


def _whole_text(name: str) -> str:
    return f"CAST({_whole_number(name)} AS VARCHAR)"


def _refuse_bad_values(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    header: list[str],
    columns: dict[str, int],
    checks: list[tuple[str, str, str]],
) -> None:
    """Refuse the file, naming its first bad lines, if any value fails its check."""
    found = " UNION ALL ".join(
        f"SELECT _line, {number} AS check_number, {name} AS value FROM staged WHERE {condition}"
        for number, (name, condition, _) in enumerate(checks)
    )
    bad = connection.execute(
        f"SELECT _line, check_number, value, count(*) OVER () FROM ({found}) "
        f"ORDER BY _line, check_number LIMIT {SHOWN}"
    ).fetchall()
    if not bad:
        return
    total = bad[0][3]
    named = "; ".join(
        f"line {line}, column {header[columns[checks[number][0]]].strip()!r}: "
        f"{'(empty)' if not value else repr(value)} {checks[number][2]}"
        for line, number, value, _ in bad
    )
    more = f"; and {total - len(bad):,} more" if total > len(bad) else ""
    raise UserError(
        f"{path} has {total:,} bad value{'s' if total != 1 else ''}, so it was not converted: "
        f"{named}{more}. Correct the file (or download it again) and convert it again."
    )


def _refuse_repeats(connection: duckdb.DuckDBPyConnection, path: Path, header: str) -> None:
    repeats = connection.execute(
        "SELECT lsoa, list(_line ORDER BY _line) FROM staged GROUP BY lsoa "
        f"HAVING count(*) > 1 ORDER BY min(_line) LIMIT {SHOWN}"
    ).fetchall()
    if repeats:
        named = "; ".join(
            f"{code} on lines {', '.join(str(line) for line in lines)}" for code, lines in repeats
        )
        raise UserError(
            f"{path} gives some areas more than once in column {header.strip()!r}: {named}. "
            "Each area must appear once; give the file as published."
        )


def _stage_lookup(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    header: list[str],
    raw: pa.Table,
    columns: dict[str, int],
) -> int:
    """The lookup's English rows as `feeds` (one row per 2011 and 2021 pair); Welsh rows
    are counted and ignored. A bad English row refuses the lookup."""
    lines = pa.array(range(2, raw.num_rows + 2), pa.int64())
    picked = pa.table(
        {
            "lsoa_2011": raw.column(columns["LSOA11CD"]),
            "lsoa_2021": raw.column(columns["LSOA21CD"]),
            "chgind": raw.column(columns["CHGIND"]),
            "lad": raw.column(columns["LAD22CD"]),
            "_line": lines,
        }
    )
    connection.register("lookup_raw", picked)
    connection.execute(
        "CREATE TABLE lookup_rows AS SELECT _line, trim(lsoa_2011) AS lsoa_2011, "
        "trim(lsoa_2021) AS lsoa_2021, upper(trim(chgind)) AS chgind, "
        "nullif(trim(lad), '') AS lad FROM lookup_raw"
    )
    connection.unregister("lookup_raw")
    welsh = "starts_with(lsoa_2011, 'W')"
    field_of = {"lsoa_2011": "LSOA11CD", "lsoa_2021": "LSOA21CD", "chgind": "CHGIND"}
    checks = [
        ("lsoa_2011", _not_lsoa("lsoa_2011"), "is not an LSOA 2011 code (E01 and six digits)"),
        ("lsoa_2021", _not_lsoa("lsoa_2021"), "is not an LSOA 2021 code (E01 and six digits)"),
        ("chgind", "coalesce(chgind NOT IN ('U', 'S', 'M', 'X'), true)", "is not U, S, M or X"),
    ]
    found = " UNION ALL ".join(
        f"SELECT _line, {number} AS check_number, {name} AS value FROM lookup_rows "
        f"WHERE NOT {welsh} AND ({condition})"
        for number, (name, condition, _) in enumerate(checks)
    )
    bad = connection.execute(
        f"SELECT _line, check_number, value, count(*) OVER () FROM ({found}) "
        f"ORDER BY _line, check_number LIMIT {SHOWN}"
    ).fetchall()
    if bad:
        total = bad[0][3]
        named = "; ".join(
            f"line {line}, column "
            f"{header[columns[field_of[checks[number][0]]]].strip().lstrip(chr(0xFEFF))!r}: "
            f"{'(empty)' if not value else repr(value)} {checks[number][2]}"
            for line, number, value, _ in bad
        )
        more = f"; and {total - len(bad):,} more" if total > len(bad) else ""
        raise UserError(
            f"{path} has {total:,} bad value{'s' if total != 1 else ''}, so nothing was "
            f"converted: {named}{more}. Give {_LOOKUP_NAME} as published."
        )
    connection.execute(
        "CREATE TABLE feeds AS SELECT lsoa_2021, lsoa_2011, any_value(chgind) AS chgind, "
        f"any_value(lad) AS lad FROM lookup_rows WHERE NOT {welsh} GROUP BY lsoa_2021, lsoa_2011"
    )
    return _count(connection, f"SELECT count(*) FROM lookup_rows WHERE {welsh}")


def _refuse_national_mismatch(
    connection: duckdb.DuckDBPyConnection, path: Path, lookup: Path, rows: int
) -> None:
    """A national index file and the national lookup have the same 2011 areas; if they do
    not, one of them is the wrong file or version, so nothing is converted."""
    if rows < NATIONAL_ROWS:
        return
    not_in_lookup = [
        row[0]
        for row in connection.execute(
            "SELECT lsoa_2011 FROM areas_2011 EXCEPT SELECT lsoa_2011 FROM feeds ORDER BY 1"
        ).fetchall()
    ]
    not_in_index = [
        row[0]
        for row in connection.execute(
            "SELECT lsoa_2011 FROM feeds EXCEPT SELECT lsoa_2011 FROM areas_2011 ORDER BY 1"
        ).fetchall()
    ]
    problems = []
    if not_in_lookup:
        problems.append(
            f"{len(not_in_lookup):,} LSOA 2011 areas of {path} are not in the lookup "
            f"({_some(not_in_lookup)})"
        )
    if not_in_index:
        problems.append(
            f"{len(not_in_index):,} English LSOA 2011 areas of the lookup are not in {path} "
            f"({_some(not_in_index)})"
        )
    if problems:
        raise UserError(
            f"{path} looks like the national file ({rows:,} rows), but it does not match "
            f"{lookup}: {'; '.join(problems)}. Check that the index file is complete and that "
            f"the lookup is {_LOOKUP_NAME}."
        )


# Output -----------------------------------------------------------------------------------


def _contract_select(**expressions: str) -> str:
    """SELECT the contract's columns, in the contract's order."""
    names = AREA_DEPRIVATION.column_names
    assert set(expressions) == set(names), sorted(set(expressions) ^ set(names))
    return "SELECT " + ", ".join(
        f"CAST({expressions[name]} AS VARCHAR) AS {name}" for name in names
    )


def _as_text(table: pa.Table) -> pa.Table:
    return table.cast(pa.schema([(name, pa.string()) for name in table.column_names]))


def _count(connection: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(connection.execute(sql).fetchone()[0])


def _areas(count: int, one: str = "LSOA 2021 area is", many: str = "LSOA 2021 areas are") -> str:
    return f"{count:,} {one if count == 1 else many}"


def _some(codes: list[str] | tuple[str, ...]) -> str:
    shown = ", ".join(codes[:SHOWN])
    return shown + (f" and {len(codes) - SHOWN:,} more" if len(codes) > SHOWN else "")
