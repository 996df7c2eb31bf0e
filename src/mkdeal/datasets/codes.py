"""National and local code lists, each with the publication it comes from.

A dataset contract names a code list for a coded column (`Column.codes`); the loader checks
values against `code_list(name).codes`. The lists ship inside the package, in `codelists/`
beside this module: one CSV per list (`code,label`, then any further columns) and
`codelists.toml`, which says for each list where it comes from, which version was read and
how complete it is. Read through `importlib.resources`, so they are found in an installed
wheel as well as in a checkout; a broken packaged file is a `ConfigurationError`.

Codes are kept as text exactly as a source file writes them ("11", "2A", "A", "99"): a
leading zero or a letter matters, so nothing is converted to a number.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType

from mkdeal.errors import ConfigurationError

__all__ = ["STATUS_PREFIXES", "CodeList", "all_code_lists", "code_list"]

# Beside the code rather than in a `data/` folder: the repository's .gitignore ignores every
# folder called `data/`, and hatchling leaves git-ignored files out of the wheel.
_PACKAGE = "mkdeal.datasets"
_FOLDER = "codelists"
_INDEX = "codelists.toml"
_FIELDS = ("title", "source", "url", "version", "status", "notes")

#: How a list's `status` may begin; see the comment at the top of codelists.toml.
STATUS_PREFIXES = ("complete", "complete, second-hand: ", "incomplete: ", "local: ")


@dataclass(frozen=True)
class CodeList:
    """One code list: its codes and labels, further columns, and where it comes from."""

    name: str
    title: str
    # The publication the codes were read in, and where it is.
    source: str
    url: str
    version: str
    # "complete", "complete, second-hand: ...", "incomplete: ..." or "local: ...".
    status: str
    notes: str
    # code -> label, in the file's order.
    codes: Mapping[str, str]
    # code -> {column: value} for the file's further columns (for example the ONS 2021
    # group of an ethnic category); an empty cell is an empty string.
    attributes: Mapping[str, Mapping[str, str]]

    def label(self, code: str) -> str:
        """The label of `code`; KeyError with a sentence when the list has no such code."""
        try:
            return self.codes[code]
        except KeyError:
            raise KeyError(f"Code list {self.name!r} has no code {code!r}.") from None

    def attribute(self, code: str, column: str) -> str:
        """The value of a further column for `code`, for example the 2021 ethnic group."""
        values = self.attributes.get(code)
        if values is None:
            raise KeyError(f"Code list {self.name!r} has no code {code!r}.")
        if column not in values:
            known = ", ".join(values) or "none"
            raise KeyError(
                f"Code list {self.name!r} has no column {column!r}; its columns are {known}."
            )
        return values[column]

    @property
    def columns(self) -> tuple[str, ...]:
        """The names of the further columns, in the file's order."""
        first = next(iter(self.attributes.values()), {})
        return tuple(first)


def code_list(name: str) -> CodeList:
    """The packaged code list called `name`; KeyError with a sentence for an unknown name."""
    lists = all_code_lists()
    try:
        return lists[name]
    except KeyError:
        raise KeyError(
            f"There is no code list {name!r}; the code lists are {', '.join(sorted(lists))}."
        ) from None


def all_code_lists() -> dict[str, CodeList]:
    """Every packaged code list by name, in the order codelists.toml lists them."""
    return dict(_load_all())


@cache
def _load_all() -> MappingProxyType[str, CodeList]:
    folder = resources.files(_PACKAGE).joinpath(_FOLDER)
    index_label = f"{_FOLDER}/{_INDEX}"
    try:
        index = tomllib.loads(folder.joinpath(_INDEX).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigurationError(
            f"The packaged code list index {index_label} cannot be read ({error}); "
            "reinstall mkdeal."
        ) from error
    lists: dict[str, CodeList] = {}
    for name, entry in index.items():
        if not isinstance(entry, dict):
            raise ConfigurationError(f"{index_label}: {name!r} is not a table.")
        missing = [field for field in _FIELDS if not isinstance(entry.get(field), str)]
        if missing:
            raise ConfigurationError(
                f"{index_label}: code list {name!r} lacks {', '.join(missing)}."
            )
        if not entry["status"].startswith(STATUS_PREFIXES):
            raise ConfigurationError(
                f"{index_label}: code list {name!r} has status {entry['status']!r}; it must "
                f"begin with one of {', '.join(repr(p) for p in STATUS_PREFIXES)}."
            )
        file_name = f"{name}.csv"
        try:
            text = folder.joinpath(file_name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigurationError(
                f"The packaged code list {_FOLDER}/{file_name} cannot be read ({error}); "
                "reinstall mkdeal."
            ) from error
        codes, attributes = _parse_csv(text, f"{_FOLDER}/{file_name}")
        lists[name] = CodeList(
            name=name,
            codes=codes,
            attributes=attributes,
            **{field: entry[field] for field in _FIELDS},
        )
    return MappingProxyType(lists)


def _parse_csv(text: str, label: str) -> tuple[Mapping[str, str], Mapping[str, Mapping[str, str]]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or header[:2] != ["code", "label"]:
        raise ConfigurationError(f"{label} must begin with the columns code,label.")
    extra = header[2:]
    codes: dict[str, str] = {}
    attributes: dict[str, Mapping[str, str]] = {}
    for line_number, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise ConfigurationError(
                f"{label}, line {line_number}: {len(row)} cells where the header has {len(header)}."
            )
        code, label_text, *rest = row
        if not code or code != code.strip():
            raise ConfigurationError(f"{label}, line {line_number}: the code is blank or padded.")
        if code in codes:
            raise ConfigurationError(f"{label}, line {line_number}: code {code!r} repeats.")
        if not label_text:
            raise ConfigurationError(f"{label}, line {line_number}: code {code!r} has no label.")
        codes[code] = label_text
        attributes[code] = MappingProxyType(dict(zip(extra, rest, strict=True)))
    if not codes:
        raise ConfigurationError(f"{label} has no codes.")
    return MappingProxyType(codes), MappingProxyType(attributes)
