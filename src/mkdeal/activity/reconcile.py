"""Reconciliation of the reward ledger: proves from the budget and the ledger alone that
the money adds up, that no one is over their cap, and that every code issued matches one
ledger entry. `mkdeal programme reconcile` exits non-zero on any break; staff see the
same on the programme's rewards page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, aliased

from mkdeal.activity import rewards as R
from mkdeal.activity.nightly import budget_pence
from mkdeal.appdb.models import RewardEntry, VoucherStock


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Reconciliation:
    totals: R.Totals
    participants_reserved: int
    checks: tuple[Check, ...]
    codes_available: dict[int, int]
    at: datetime

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def lines(self) -> list[str]:
        t = self.totals
        lines = [
            f"Budget                 {R.pounds(t.budget):>14}",
            f"  spent (converted)    {R.pounds(t.spend):>14}   of which codes issued "
            f"{R.pounds(t.issued)}",
            f"  reserved             {R.pounds(t.reserved):>14}   for "
            f"{self.participants_reserved:,} participants",
            f"  available            {R.pounds(t.available):>14}",
            "",
        ]
        for check in self.checks:
            lines.append(f"{'ok   ' if check.ok else 'BREAK'}  {check.name}: {check.detail}")
        stock = ", ".join(
            f"{count:,} of {R.pounds(pence)}"
            for pence, count in sorted(self.codes_available.items())
        )
        lines += ["", f"Voucher codes in stock: {stock or 'none'}."]
        lines.append(
            "Reconciled: every check holds." if self.ok else "NOT RECONCILED: see BREAK above."
        )
        return lines

    def as_dict(self) -> dict:
        t = self.totals
        return {
            "budget_pence": t.budget,
            "spend_pence": t.spend,
            "issued_pence": t.issued,
            "reserved_pence": t.reserved,
            "available_pence": t.available,
            "participants_reserved": self.participants_reserved,
            "codes_available": {str(k): v for k, v in self.codes_available.items()},
            "checks": [c.__dict__ for c in self.checks],
            "ok": self.ok,
        }


def reconcile(app: Engine, *, now: datetime) -> Reconciliation:
    with Session(app) as session:
        budget = budget_pence(session)
        per = session.execute(
            select(
                RewardEntry.participant_id,
                RewardEntry.kind,
                func.sum(RewardEntry.pence),
                func.sum(RewardEntry.points),
            ).group_by(RewardEntry.participant_id, RewardEntry.kind)
        ).all()
        pence: dict[int, dict[str, int]] = {}
        points: dict[int, int] = {}
        sums: dict[str, int] = {}
        for pid, kind, total_pence, total_points in per:
            pence.setdefault(pid, {})[kind] = int(total_pence or 0)
            points[pid] = points.get(pid, 0) + int(total_points or 0)
            sums[kind] = sums.get(kind, 0) + int(total_pence or 0)
        totals = R.totals(budget, sums)
        held = {
            pid: k.get(R.RESERVE, 0) - k.get(R.RELEASE, 0) - k.get(R.CONVERT, 0)
            for pid, k in pence.items()
        }
        checks = []
        reserved = sum(held.values())
        identity = totals.spend + reserved + totals.available
        checks.append(
            Check(
                "spend + reserved + available = budget",
                identity == budget,
                f"{R.pounds(totals.spend)} + {R.pounds(reserved)} + "
                f"{R.pounds(totals.available)} = {R.pounds(identity)}, budget "
                f"{R.pounds(budget)}",
            )
        )
        checks.append(
            Check(
                "the budget is not promised twice",
                totals.available >= 0,
                f"available {R.pounds(totals.available)}",
            )
        )
        over = sorted(pid for pid, amount in held.items() if amount < 0)
        checks.append(
            Check(
                "no participant spent beyond their reservation",
                not over,
                f"{len(over)} participants over" if over else f"{len(held):,} participants",
            )
        )
        caps = session.execute(
            select(
                RewardEntry.participant_id,
                RewardEntry.rule,
                RewardEntry.cap_year,
                func.sum(RewardEntry.pence),
            )
            .where(RewardEntry.kind == R.CONVERT)
            .group_by(RewardEntry.participant_id, RewardEntry.rule, RewardEntry.cap_year)
        ).all()
        over_cap = [
            (pid, year, total)
            for pid, rule, year, total in caps
            if rule not in R.RULES or total > R.RULES[rule].yearly_cap_pence
        ]
        top = max((int(total) for *_, total in caps), default=0)
        checks.append(
            Check(
                "no participant is over their yearly cap",
                not over_cap,
                f"{len(over_cap)} participant-years over the cap"
                if over_cap
                else f"the most converted in one programme year is {R.pounds(top)}",
            )
        )
        negative = [pid for pid, total in points.items() if total < 0]
        checks.append(
            Check(
                "no points converted or expired that were not earned",
                not negative,
                f"{len(negative)} participants below zero points"
                if negative
                else "all at or above 0",
            )
        )
        twice = session.scalar(
            select(func.count()).select_from(
                select(RewardEntry.participant_id)
                .group_by(
                    RewardEntry.participant_id,
                    RewardEntry.rule,
                    RewardEntry.period,
                    RewardEntry.kind,
                )
                .having(func.count() > 1)
                .subquery()
            )
        )
        checks.append(
            Check("no entry is made twice", twice == 0, f"{twice} keys with more than one entry")
        )
        issued_codes = session.scalar(
            select(func.count()).where(VoucherStock.issued_at.is_not(None))
        )
        issue_entries = session.scalar(select(func.count()).where(RewardEntry.kind == R.ISSUE))
        orphan_codes = session.scalar(
            select(func.count())
            .select_from(VoucherStock)
            .outerjoin(RewardEntry, RewardEntry.voucher_id == VoucherStock.id)
            .where(VoucherStock.issued_at.is_not(None), RewardEntry.id.is_(None))
        )
        bad_entries = session.scalar(
            select(func.count())
            .select_from(RewardEntry)
            .outerjoin(VoucherStock, VoucherStock.id == RewardEntry.voucher_id)
            .where(
                RewardEntry.kind == R.ISSUE,
                (VoucherStock.id.is_(None))
                | (VoucherStock.issued_at.is_(None))
                | (VoucherStock.pence != RewardEntry.pence),
            )
        )
        convert = aliased(RewardEntry)
        unconverted = session.scalar(
            select(func.count())
            .select_from(RewardEntry)
            .outerjoin(
                convert,
                (convert.participant_id == RewardEntry.participant_id)
                & (convert.rule == RewardEntry.rule)
                & (convert.period == RewardEntry.period)
                & (convert.kind == R.CONVERT),
            )
            .where(RewardEntry.kind == R.ISSUE, convert.id.is_(None))
        )
        checks.append(
            Check(
                "every code issued matches one ledger entry",
                orphan_codes == 0 and bad_entries == 0 and unconverted == 0,
                f"{issued_codes:,} codes issued, {issue_entries:,} issue entries; "
                f"{orphan_codes} codes without an entry, {bad_entries} entries without "
                f"their code or of another value, {unconverted} without a conversion",
            )
        )
        available_codes = dict(
            session.execute(
                select(VoucherStock.pence, func.count())
                .where(VoucherStock.issued_at.is_(None))
                .group_by(VoucherStock.pence)
            ).all()
        )
    return Reconciliation(
        totals,
        sum(1 for amount in held.values() if amount > 0),
        tuple(checks),
        available_codes,
        now,
    )
