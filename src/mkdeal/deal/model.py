"""The MK Deal as data: its release, partners, priorities and aims.

Every model is frozen and refuses unknown fields, so a typo in the Deal's data file is an
error rather than a silently ignored key. Checks that need more than one field (ids unique,
every lead names a partner) live on `Deal`, so any way of building a Deal runs them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    model_validator,
)

# Ids are slugs so they can appear in URLs, file names and other records unchanged.
_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")
# Measure ids are set by the measure registry; allow the separators it may use.
_MEASURE_ID = re.compile(r"^[a-z][a-z0-9_.-]*$")
# NHS trusts and ICBs have three-character ODS codes (RD8, QHG); other organisations
# (practices, PCNs, sites) have up to six, so only those two kinds are held to three.
_ODS_CODE = re.compile(r"^[A-Z0-9]{3,6}$")
_ODS_CODE_THREE = re.compile(r"^[A-Z0-9]{3}$")
# ONS (GSS) codes: country letter, then eight digits; E06000042 is Milton Keynes.
_ONS_CODE = re.compile(r"^[EWSN]\d{8}$")
_VERSION = re.compile(r"^\d+\.\d+$")


def _calendar_date(value: Any) -> Any:
    """Accept a date or an ISO date string; refuse numbers and date-times.

    pydantic would otherwise read a number as seconds since 1970 and a date-time with a
    zero time as a date, both of which hide a mistake in the file.
    """
    if isinstance(value, dt.datetime):
        raise ValueError("give a date (YYYY-MM-DD) without a time")
    if isinstance(value, dt.date | str):
        return value
    raise ValueError(f"give a date as YYYY-MM-DD, not {value!r}")


CalendarDate = Annotated[dt.date, BeforeValidator(_calendar_date)]


def _matches(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid {what}")
        return value

    return AfterValidator(check)


Slug = Annotated[str, _matches(_SLUG, "id (lower-case letters, digits and _)")]
MeasureId = Annotated[str, _matches(_MEASURE_ID, "measure id (lower-case letters, digits, _ . -)")]
OdsCode = Annotated[str, _matches(_ODS_CODE, "ODS code (3 to 6 capital letters or digits)")]
OnsCode = Annotated[str, _matches(_ONS_CODE, "ONS code (E, W, S or N then eight digits)")]
Version = Annotated[str, _matches(_VERSION, "version (like 1.0)")]
Text = Annotated[str, Field(min_length=1)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class PartnerKind(StrEnum):
    NHS_TRUST = "nhs_trust"
    ICB = "icb"
    LOCAL_AUTHORITY = "local_authority"
    HEALTHWATCH = "healthwatch"
    POLICE = "police"
    FIRE_AND_RESCUE = "fire_and_rescue"
    PRIMARY_CARE = "primary_care"
    VCSE = "vcse"


_THREE_CHARACTER_ODS_KINDS = frozenset({PartnerKind.NHS_TRUST, PartnerKind.ICB})


class Source(_Frozen):
    """Where the Deal's content was read."""

    title: Text
    url: Text
    publisher: str = ""
    published_on: CalendarDate | None = None


class Change(_Frozen):
    """One entry in the Deal data's change record."""

    version: Version
    date: CalendarDate
    summary: Text


class Release(_Frozen):
    """Which version of the Deal this is, when it was agreed, and where it came from."""

    version: Version
    # None when no source states the date; `notes` then says what is known.
    agreed_on: CalendarDate | None = None
    notes: str = ""
    source: Source
    changes: tuple[Change, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _changes_record_this_version(self) -> Release:
        versions = [change.version for change in self.changes]
        repeated = _repeated(versions)
        if repeated:
            raise ValueError(f"the changes list repeats version {', '.join(repeated)}")
        if self.version not in versions:
            raise ValueError(
                f"version {self.version} has no entry in the changes list; "
                "add one saying what changed"
            )
        return self


class Partner(_Frozen):
    """One of the organisations (or groups of organisations) party to the Deal."""

    id: Slug
    name: Text
    short_name: str = ""
    kind: PartnerKind
    # Only codes that are known for certain are recorded; None means none is recorded.
    ods_code: OdsCode | None = None
    ons_code: OnsCode | None = None
    notes: str = ""

    @model_validator(mode="after")
    def _ods_code_fits_kind(self) -> Partner:
        if (
            self.ods_code is not None
            and self.kind in _THREE_CHARACTER_ODS_KINDS
            and not _ODS_CODE_THREE.fullmatch(self.ods_code)
        ):
            raise ValueError(
                f"ods_code {self.ods_code!r} is not a valid ODS code for kind "
                f"{self.kind.value} (NHS trusts and ICBs have three characters, like RD8)"
            )
        return self

    @property
    def display_name(self) -> str:
        return self.short_name or self.name


class Priority(_Frozen):
    """One of the Deal's shared priorities, with its governance and measures."""

    id: Slug
    name: Text
    description: Text
    focus_areas: tuple[Text, ...] = ()
    # Aims and progress measures as a published source states them, kept as text so
    # nothing is lost before the measure registry defines each one.
    stated_aims: tuple[Text, ...] = ()
    progress_measures: tuple[Text, ...] = ()
    measure_ids: tuple[MeasureId, ...] = ()
    jlt_lead: Slug
    go_live: CalendarDate
    steering_group: Text
    # False while the lead, go-live date and steering group await the Partnership
    # office's confirmation; `confirmation_note` then says what to confirm.
    confirmed: StrictBool
    confirmation_note: str = ""

    @model_validator(mode="after")
    def _unconfirmed_says_why(self) -> Priority:
        if not self.confirmed and not self.confirmation_note:
            raise ValueError(
                "confirmed is false but confirmation_note is empty; "
                "say what the Partnership office needs to confirm"
            )
        return self


class Deal(_Frozen):
    """The whole Deal: release details, aims, partners and priorities."""

    release: Release
    aims: tuple[Text, ...] = ()
    partners: tuple[Partner, ...] = Field(min_length=1)
    priorities: tuple[Priority, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _references_hold(self) -> Deal:
        problems: list[str] = []
        for what, ids in (
            ("partner id", [p.id for p in self.partners]),
            ("priority id", [p.id for p in self.priorities]),
            ("measure id", [m for p in self.priorities for m in p.measure_ids]),
        ):
            for repeated in _repeated(ids):
                problems.append(f"{what} {repeated!r} is used more than once")
        for kind, codes in (
            ("ods_code", [p.ods_code for p in self.partners if p.ods_code]),
            ("ons_code", [p.ons_code for p in self.partners if p.ons_code]),
        ):
            for repeated in _repeated(codes):
                problems.append(f"{kind} {repeated!r} is given to more than one partner")
        partner_ids = {p.id for p in self.partners}
        for priority in self.priorities:
            if priority.jlt_lead not in partner_ids:
                problems.append(
                    f"priority {priority.id!r} has jlt_lead {priority.jlt_lead!r}, which is "
                    f"not a partner id (partner ids: {', '.join(sorted(partner_ids))})"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def version(self) -> str:
        return self.release.version

    @property
    def area_code(self) -> str:
        """The ONS code of the Deal's place: its local authority partner's area. Measures
        counted by residence (NCMP) count people living in it."""
        codes = [
            p.ons_code
            for p in self.partners
            if p.kind == PartnerKind.LOCAL_AUTHORITY and p.ons_code is not None
        ]
        if len(codes) != 1:
            raise ValueError(
                f"The Deal names {len(codes)} local authority partners with an ONS code; "
                "measures by residence need exactly one."
            )
        return codes[0]

    def partner(self, partner_id: str) -> Partner:
        """The partner with this id; KeyError if there is none."""
        for partner in self.partners:
            if partner.id == partner_id:
                return partner
        raise KeyError(partner_id)

    def priority(self, priority_id: str) -> Priority:
        """The priority with this id; KeyError if there is none."""
        for priority in self.priorities:
            if priority.id == priority_id:
                return priority
        raise KeyError(priority_id)


def _repeated(values: Iterable[str]) -> list[str]:
    return [value for value, count in Counter(values).items() if count > 1]


def priorities_rows(deal: Deal) -> list[dict]:
    """The priorities as plain rows, in the Deal's order, for a published snapshot: a
    report built from a snapshot then shows the priorities as they were when it was
    published, not as the Deal file says today."""
    return [
        {
            "position": position,
            "id": priority.id,
            "name": priority.name,
            "description": priority.description,
            "measure_ids": "; ".join(priority.measure_ids),
            "jlt_lead": deal.partner(priority.jlt_lead).display_name,
            "steering_group": priority.steering_group,
            "deal_version": deal.version,
        }
        for position, priority in enumerate(deal.priorities, start=1)
    ]
