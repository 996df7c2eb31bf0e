"""Rewards: points for weeks met, turned into vouchers, in an append-only ledger. Pure.

The ledger holds one entry per (participant, rule, period, kind), so that doing any piece
of work again, or twice at once, finds its entry already there and pays nothing more.
Money is in integer pence; points are whole numbers. The kinds:

- `reserve` (period `programme`): at enrolment, the participant's yearly cap for every year
  of the programme is set aside from the budget, so the budget is never promised twice;
- `credit` (period: the week's Monday): points for a week whose goal was met, once its days
  are final;
- `reversal`: a credit taken back because revised data show the week was not met. Only a
  credit the participant has not been shown (not *notified*) and whose points are still
  there is reversed; otherwise the revision is recorded (`revision`, no points) and the
  reward stands;
- `convert` (period `voucher-N`): points turned into a voucher's worth of pence, within the
  yearly cap (each year counted from the participant's programme start) and the
  reservation;
- `issue` (period `voucher-N`): a voucher code given for a conversion (the money is spent);
- `expire` and `release` (period `programme`): at withdrawal or at the programme's end,
  the points left expire and the unused part of the reservation goes back to the budget.

Reconciliation follows from the ledger alone: spend (converted) + reserved (reserve −
released − converted) + available (budget − reserve + released) = budget.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date

RESERVE, RELEASE = "reserve", "release"
CREDIT, REVERSAL, REVISION = "credit", "reversal", "revision"
CONVERT, ISSUE, EXPIRE = "convert", "issue", "expire"
KINDS = (RESERVE, CREDIT, REVERSAL, REVISION, CONVERT, ISSUE, EXPIRE, RELEASE)
PROGRAMME = "programme"


@dataclass(frozen=True)
class RewardRule:
    """The weekly points rule, version 1. Its parameters are part of the rule: a change
    is a new version, and entries keep the name of the rule that made them."""

    name: str = "weekly_points/1"
    points_per_week_met: int = 500
    points_per_voucher: int = 1000
    voucher_pence: int = 1000  # a £10 voucher for 1,000 points: a point is a penny
    yearly_cap_pence: int = 36500  # £365 a programme year
    programme_years: int = 2

    @property
    def reservation_pence(self) -> int:
        return self.yearly_cap_pence * self.programme_years


RULES = {RewardRule().name: RewardRule()}


@dataclass(frozen=True)
class Entry:
    kind: str
    period: str
    points: int = 0
    pence: int = 0
    cap_year: int = 1
    detail: Mapping = field(default_factory=dict)


@dataclass(frozen=True)
class Position:
    """Where a participant stands in the ledger: all that the rules below need."""

    reserved_pence: int = 0  # the reservation made (0: none yet)
    closed: bool = False  # released at withdrawal or the end
    points: int = 0  # credited − reversed − converted − expired
    converted_pence: int = 0
    converted_by_year: Mapping[int, int] = field(default_factory=dict)
    vouchers: int = 0  # conversions so far

    @property
    def unspent_reservation(self) -> int:
        return 0 if self.closed else self.reserved_pence - self.converted_pence


def position(entries: Iterable[Entry]) -> Position:
    """A participant's position from their entries."""
    result = Position()
    for entry in entries:
        result = apply(result, entry)
    return result


def apply(pos: Position, entry: Entry) -> Position:
    """The position after one more entry."""
    if entry.kind == RESERVE:
        return replace(pos, reserved_pence=pos.reserved_pence + entry.pence)
    if entry.kind == RELEASE:
        return replace(pos, closed=True)
    if entry.kind in (CREDIT, REVERSAL, EXPIRE):
        return replace(pos, points=pos.points + entry.points)
    if entry.kind == CONVERT:
        by_year = dict(pos.converted_by_year)
        by_year[entry.cap_year] = by_year.get(entry.cap_year, 0) + entry.pence
        return replace(
            pos,
            points=pos.points + entry.points,
            converted_pence=pos.converted_pence + entry.pence,
            converted_by_year=by_year,
            vouchers=pos.vouchers + 1,
        )
    return pos  # revision and issue move no points and no reservation


def cap_year(start: date, on: date) -> int:
    """The programme year (1, 2, ...) a day falls in, each counted from the start date."""
    year = 1
    while on >= _anniversary(start, year):
        year += 1
    return year


def programme_end(rule: RewardRule, start: date) -> date:
    """The first day after the programme: its start plus the programme's years."""
    return _anniversary(start, rule.programme_years)


def _anniversary(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February: the year turns on 1 March
        return date(start.year + years, 3, 1)


def reservation(rule: RewardRule, available_pence: int) -> Entry | None:
    """The reservation a new participant needs, or None while the budget cannot cover it."""
    if available_pence < rule.reservation_pence:
        return None
    return Entry(RESERVE, PROGRAMME, pence=rule.reservation_pence)


@dataclass(frozen=True)
class WeekEntries:
    """The entries a week already has (by kind), and whether its credit was notified."""

    kinds: frozenset[str] = frozenset()
    credit_notified: bool = False


def week_entries(
    rule: RewardRule, week: date, met: bool, have: WeekEntries, pos: Position, year: int
) -> list[Entry]:
    """What one evaluation of a week adds to the ledger: a credit when met, a reversal (or,
    where a reversal may not be made, a recorded revision) when a credited week turns out
    not met. A closed account earns nothing more."""
    period = week.isoformat()
    if pos.closed:
        return []
    if met and CREDIT not in have.kinds:
        return [Entry(CREDIT, period, points=rule.points_per_week_met, cap_year=year)]
    if CREDIT not in have.kinds or REVERSAL in have.kinds:
        if met and REVERSAL in have.kinds and REVISION not in have.kinds:
            # Met again after a reversal: the reversal stands (one credit a week), noted.
            return [Entry(REVISION, period, cap_year=year, detail={"now": "met"})]
        return []
    if met:
        return []
    if have.credit_notified or pos.points < rule.points_per_week_met:
        if REVISION in have.kinds:
            return []
        why = "notified" if have.credit_notified else "points already converted"
        return [Entry(REVISION, period, cap_year=year, detail={"now": "not met", "kept": why})]
    return [Entry(REVERSAL, period, points=-rule.points_per_week_met, cap_year=year)]


def conversions(rule: RewardRule, pos: Position, year: int) -> list[Entry]:
    """Vouchers the points left pay for, within the year's cap and the reservation."""
    entries = []
    while (
        not pos.closed
        and pos.reserved_pence > 0
        and pos.points >= rule.points_per_voucher
        and pos.converted_by_year.get(year, 0) + rule.voucher_pence <= rule.yearly_cap_pence
        and pos.unspent_reservation >= rule.voucher_pence
    ):
        entry = Entry(
            CONVERT,
            f"voucher-{pos.vouchers + 1}",
            points=-rule.points_per_voucher,
            pence=rule.voucher_pence,
            cap_year=year,
        )
        entries.append(entry)
        pos = apply(pos, entry)
    return entries


def closing(pos: Position, year: int, why: str) -> list[Entry]:
    """At withdrawal or the programme's end: the points left expire and the unused
    reservation goes back to the budget."""
    if pos.closed or pos.reserved_pence == 0:
        return []
    entries = []
    if pos.points > 0:
        entries.append(Entry(EXPIRE, PROGRAMME, points=-pos.points, cap_year=year))
    entries.append(
        Entry(RELEASE, PROGRAMME, pence=pos.unspent_reservation, cap_year=year, detail={"why": why})
    )
    return entries


@dataclass(frozen=True)
class Totals:
    """The programme's money, from the budget and the ledger."""

    budget: int
    reserved_total: int
    released: int
    spend: int  # converted: promised to participants as vouchers
    issued: int  # of which codes given

    @property
    def reserved(self) -> int:
        return self.reserved_total - self.released - self.spend

    @property
    def available(self) -> int:
        return self.budget - self.reserved_total + self.released


def totals(budget: int, sums: Mapping[str, int]) -> Totals:
    """Totals from the budget and the ledger's pence summed by kind."""
    return Totals(
        budget,
        sums.get(RESERVE, 0),
        sums.get(RELEASE, 0),
        sums.get(CONVERT, 0),
        sums.get(ISSUE, 0),
    )


def pounds(pence: int) -> str:
    """£1,234.50 (negative as −£1.00)."""
    sign = "−" if pence < 0 else ""
    pence = abs(pence)
    return f"{sign}£{pence // 100:,}.{pence % 100:02d}"
