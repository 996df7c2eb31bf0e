"""The Deal as plain text for a terminal."""

from __future__ import annotations

import textwrap

from mkdeal.deal.model import Deal, Partner, PartnerKind, Priority

TO_BE_CONFIRMED = "[to be confirmed]"

_KIND_LABELS = {
    PartnerKind.NHS_TRUST: "NHS trust",
    PartnerKind.ICB: "integrated care board",
    PartnerKind.LOCAL_AUTHORITY: "local authority",
    PartnerKind.HEALTHWATCH: "local Healthwatch",
    PartnerKind.POLICE: "police force",
    PartnerKind.FIRE_AND_RESCUE: "fire and rescue service",
    PartnerKind.PRIMARY_CARE: "primary care",
    PartnerKind.VCSE: "voluntary, community and social enterprise sector",
}

_WIDTH = 96


def render_deal_text(deal: Deal) -> str:
    """A readable summary: release, partners with codes, priorities with governance."""
    release = deal.release
    agreed = release.agreed_on.isoformat() if release.agreed_on else "date not known"
    lines = [f"MK Deal, version {release.version} (agreed: {agreed})"]
    source = release.source
    by = f", {source.publisher}" if source.publisher else ""
    published = f", {source.published_on.isoformat()}" if source.published_on else ""
    lines.append(f"Source: {source.title}{by}{published}")
    lines.append(f"        {source.url}")
    if release.notes:
        lines += _wrapped(f"Notes: {release.notes}", indent="       ", first="")

    if deal.aims:
        lines += ["", "Aims"]
        for aim in deal.aims:
            lines += _wrapped(aim, indent="    ", first="  - ")

    lines += ["", f"Partners ({len(deal.partners)})"]
    for partner in deal.partners:
        lines.append(f"  - {partner.name}{_short(partner)}")
        lines.append(f"    {_KIND_LABELS[partner.kind]}; {_codes(partner)}")

    lines += ["", f"Priorities ({len(deal.priorities)})"]
    for number, priority in enumerate(deal.priorities, start=1):
        lines += _priority_lines(deal, priority, number)

    lines += ["", "Changes"]
    for change in release.changes:
        lines += _wrapped(
            f"{change.version} ({change.date.isoformat()}): {change.summary}",
            indent="    ",
            first="  - ",
        )
    return "\n".join(lines) + "\n"


def _priority_lines(deal: Deal, priority: Priority, number: int) -> list[str]:
    mark = "" if priority.confirmed else f" {TO_BE_CONFIRMED}"
    lead = deal.partner(priority.jlt_lead)
    lines = [
        "",
        f"  {number}. {priority.name} ({priority.id})",
        f"     JLT lead: {lead.display_name}{mark}",
        f"     Go-live: {priority.go_live.isoformat()}{mark}",
        f"     Steering group: {priority.steering_group}{mark}",
    ]
    if not priority.confirmed:
        lines += _wrapped(f"To confirm: {priority.confirmation_note}", indent="       ")
    lines += _wrapped(priority.description, indent="     ")
    if priority.focus_areas:
        lines += _wrapped(
            "Focus areas: " + "; ".join(priority.focus_areas), indent="       ", first="     "
        )
    if priority.progress_measures:
        lines.append("     Progress measures stated by the Deal:")
        for measure in priority.progress_measures:
            lines += _wrapped(measure, indent="         ", first="       - ")
    else:
        lines.append("     Progress measures stated by the Deal: none recorded")
    registered = ", ".join(priority.measure_ids) if priority.measure_ids else "none yet"
    lines.append(f"     Measures in the registry: {registered}")
    return lines


def _short(partner: Partner) -> str:
    return f" ({partner.short_name})" if partner.short_name else ""


def _codes(partner: Partner) -> str:
    codes = []
    if partner.ods_code:
        codes.append(f"ODS {partner.ods_code}")
    if partner.ons_code:
        codes.append(f"ONS {partner.ons_code}")
    return ", ".join(codes) if codes else "no code recorded"


def _wrapped(text: str, indent: str, first: str | None = None) -> list[str]:
    return textwrap.wrap(
        text,
        width=_WIDTH,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_on_hyphens=False,
    )
