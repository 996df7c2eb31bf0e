"""Consent as versioned documents with a choice per item. Pure, apart from reading the
packaged documents.

Each version is a file in `consent_documents/` and is never edited once in force: every
recorded choice names its version. The version in force on a day is the newest whose
`in_force_from` is on or before it. A participant whose latest choices were made under an
older version must consent again; until they do, the app accepts no new data from them
(Active MK II) and their goal holds (`readiness`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib.resources import files

from mkdeal.errors import ConfigurationError, UserError


@dataclass(frozen=True)
class ConsentItem:
    id: str
    question: str
    explanation: str
    required: bool  # without a "yes" the person cannot take part


@dataclass(frozen=True)
class ConsentDocument:
    version: str
    in_force_from: date
    title: str
    introduction: str
    items: tuple[ConsentItem, ...]

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.items)


@dataclass(frozen=True)
class Choice:
    """One recorded answer to one item of one version."""

    version: str
    item: str
    agreed: bool
    recorded_at: datetime


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@cache
def documents() -> tuple[ConsentDocument, ...]:
    """Every consent document, oldest first."""
    folder = files("mkdeal.activity").joinpath("consent_documents")
    found = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".toml"):
            continue
        data = tomllib.loads(entry.read_text(encoding="utf-8"))
        if data["version"] + ".toml" != entry.name:
            raise ConfigurationError(
                f"Consent document {entry.name} says version {data['version']}."
            )
        items = tuple(
            ConsentItem(i["id"], i["question"], i["explanation"].strip(), bool(i["required"]))
            for i in data["items"]
        )
        found.append(
            ConsentDocument(
                data["version"],
                data["in_force_from"],
                data["title"],
                data["introduction"].strip(),
                items,
            )
        )
    found.sort(key=lambda d: _version_key(d.version))
    dates = [d.in_force_from for d in found]
    if dates != sorted(set(dates)):
        raise ConfigurationError("Consent documents must come into force in version order.")
    return tuple(found)


def document(version: str) -> ConsentDocument:
    for found in documents():
        if found.version == version:
            return found
    known = ", ".join(d.version for d in documents())
    raise UserError(f"There is no consent document version {version!r}; the versions are {known}.")


def in_force(on: date) -> ConsentDocument | None:
    """The version in force on a day (None before the first)."""
    current = [d for d in documents() if d.in_force_from <= on]
    return current[-1] if current else None


def choices_problems(doc: ConsentDocument, answers: Mapping[str, bool | None]) -> list[str]:
    """Every item needs a yes or a no; nothing else may be answered."""
    problems = [
        f"{item!r} is not an item of version {doc.version}."
        for item in answers
        if item not in doc.item_ids
    ]
    problems += [f"Answer yes or no: {i.question}" for i in doc.items if answers.get(i.id) is None]
    return problems


@dataclass(frozen=True)
class ConsentState:
    """Where a participant's consent stands on a day."""

    status: str  # none, declined, current, outdated
    version: str | None  # the version of their latest choices
    agreed: frozenset[str]  # the items they agreed to, in that version

    @property
    def needs_reconsent(self) -> bool:
        return self.status == "outdated"


def consent_state(choices: Iterable[Choice], on: date) -> ConsentState:
    """The participant's latest choices (the version answered last, each item's last
    answer under it) against the version in force on `on`.

    - `none`: no choices recorded;
    - `declined`: the latest version answered has "no" to a required item;
    - `outdated`: agreed under an older version than the one in force: consent again;
    - `current`: agreed under the version in force.
    """
    choices = sorted(choices, key=lambda c: c.recorded_at)
    if not choices:
        return ConsentState("none", None, frozenset())
    version = choices[-1].version
    latest = {c.item: c.agreed for c in choices if c.version == version}
    agreed = frozenset(item for item, yes in latest.items() if yes)
    doc = document(version)
    if any(item.required and not latest.get(item.id, False) for item in doc.items):
        return ConsentState("declined", version, agreed)
    force = in_force(on)
    if force is not None and _version_key(version) < _version_key(force.version):
        return ConsentState("outdated", version, agreed)
    return ConsentState("current", version, agreed)
