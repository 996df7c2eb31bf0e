"""Vouchers: a provider interface, and the built-in provider that issues codes from stock.

A provider takes a list of vouchers wanted (their value in pence) and gives back, for each,
the id of a code it set aside, or None when it has none; it shows a code on request, and
says how many are left. The built-in `StockProvider` works from codes loaded from a file
(`mkdeal programme vouchers load`):

- codes are cash, so each is kept encrypted (Fernet: AES-128-CBC with an HMAC-SHA256 tag)
  under a key derived from the encryption key, never from the web secret key;
- a keyed hash of each code (HMAC-SHA256) is unique, so a code loaded twice, in one file or
  in two, is refused, and a stock row is issued at most once (`issued_at` is set by an
  update that only matches rows not yet issued);
- every view of a code is written to the audit log by the caller, who knows who looked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mkdeal.appdb.models import VoucherStock
from mkdeal.errors import ConfigurationError, UserError

CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{5,63}$")
LOW_STOCK_MINIMUM = 10  # codes of one value; below this (or four weeks' issues) it is low


class VoucherProvider(Protocol):
    name: str

    def take(self, session: Session, wanted: Sequence[int], now: datetime) -> list[int | None]:
        """Set aside one code for each value wanted (pence), in order; None where none is
        left. Runs inside the caller's transaction."""

    def reveal(self, session: Session, voucher_id: int) -> str:
        """The code itself, for its participant alone (the caller audits the view)."""

    def available(self, session: Session) -> dict[int, int]:
        """Codes not yet issued, by value in pence."""


def _derived(key: bytes, purpose: bytes) -> bytes:
    return hashlib.sha256(b"mkdeal-" + purpose + b":" + key).digest()


@dataclass(frozen=True)
class StockProvider:
    """The built-in provider: codes loaded into `voucher_stock`, encrypted at rest."""

    encryption_key: bytes
    name: str = "stock"

    def __post_init__(self) -> None:
        if not self.encryption_key:
            raise ConfigurationError(
                "Voucher codes need the encryption key (MKDEAL_ENCRYPTION_KEY), and none is set."
            )

    @property
    def _fernet(self) -> Fernet:
        return Fernet(base64.urlsafe_b64encode(_derived(self.encryption_key, b"voucher-codes")))

    def code_hash(self, code: str) -> str:
        key = _derived(self.encryption_key, b"voucher-code-hash")
        return hmac.new(key, code.encode("utf-8"), hashlib.sha256).hexdigest()

    def encrypt(self, code: str) -> str:
        return self._fernet.encrypt(code.encode("utf-8")).decode("ascii")

    def take(self, session: Session, wanted: Sequence[int], now: datetime) -> list[int | None]:
        taken: list[int | None] = []
        by_value: dict[int, list[int]] = {}
        for pence in sorted(set(wanted)):
            count = sum(1 for w in wanted if w == pence)
            query = (
                select(VoucherStock.id)
                .where(
                    VoucherStock.provider == self.name,
                    VoucherStock.pence == pence,
                    VoucherStock.issued_at.is_(None),
                )
                .order_by(VoucherStock.id)
                .limit(count)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            by_value[pence] = list(session.scalars(query))
        for pence in wanted:
            free = by_value[pence]
            taken.append(free.pop(0) if free else None)
        chosen = [i for i in taken if i is not None]
        for start in range(0, len(chosen), 5000):
            part = chosen[start : start + 5000]
            done = session.execute(
                update(VoucherStock)
                .where(VoucherStock.id.in_(part), VoucherStock.issued_at.is_(None))
                .values(issued_at=now)
            ).rowcount
            if done != len(part):  # another writer took one: give up the whole batch
                raise RuntimeError("A voucher code was issued by another batch at the same time.")
        return taken

    def reveal(self, session: Session, voucher_id: int) -> str:
        row = session.get(VoucherStock, voucher_id)
        if row is None or row.issued_at is None:
            raise UserError(f"Voucher {voucher_id} has not been issued.")
        try:
            return self._fernet.decrypt(row.code_encrypted.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ConfigurationError(
                "A voucher code cannot be decrypted with this encryption key: the key is not "
                "the one the codes were loaded under."
            ) from None

    def available(self, session: Session) -> dict[int, int]:
        rows = session.execute(
            select(VoucherStock.pence, func.count())
            .where(VoucherStock.provider == self.name, VoucherStock.issued_at.is_(None))
            .group_by(VoucherStock.pence)
        )
        return {pence: count for pence, count in rows}


@dataclass(frozen=True)
class StockLoad:
    loaded: int
    already_loaded: int
    rejected: tuple[str, ...]  # sentences naming the line; never the code itself

    def summary(self, path: Path) -> str:
        parts = [f"{path.name}: {self.loaded:,} voucher codes loaded"]
        if self.already_loaded:
            parts.append(f"{self.already_loaded:,} already loaded (left as they were)")
        if self.rejected:
            parts.append(f"{len(self.rejected):,} rejected")
        return ", ".join(parts) + "."


def load_stock(
    session: Session,
    provider: StockProvider,
    path: Path,
    pence: int,
    *,
    actor: str,
    now: datetime,
) -> StockLoad:
    """Load codes, one a line, all of one value. A code already in stock (this file or an
    earlier one) is left as it is; a malformed line is rejected by line number. Loading
    the same file again changes nothing."""
    if pence <= 0:
        raise UserError("A voucher's value must be more than £0.")
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise UserError(f"Cannot read {path}: {error.strerror}.") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text: expected one voucher code a line.") from None
    batch = hashlib.sha256(raw).hexdigest()
    rejected: list[str] = []
    seen: dict[str, int] = {}
    codes: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        code = line.strip().upper()
        if not code or code.startswith("#"):
            continue
        if not CODE.match(code):
            rejected.append(
                f"{path.name}, line {number}: not a voucher code (6 to 64 letters, digits "
                f"or hyphens, starting with a letter or digit)."
            )
            continue
        digest = provider.code_hash(code)
        if digest in seen:
            rejected.append(f"{path.name}, line {number}: the same code as line {seen[digest]}.")
            continue
        seen[digest] = number
        codes.append((code, digest))
    existing: set[str] = set()
    hashes = [digest for _, digest in codes]
    for start in range(0, len(hashes), 5000):
        existing |= set(
            session.scalars(
                select(VoucherStock.code_hash).where(
                    VoucherStock.code_hash.in_(hashes[start : start + 5000])
                )
            )
        )
    new = [
        VoucherStock(
            provider=provider.name,
            code_hash=digest,
            code_encrypted=provider.encrypt(code),
            pence=pence,
            batch=batch,
            loaded_at=now,
            loaded_by=actor,
        )
        for code, digest in codes
        if digest not in existing
    ]
    session.add_all(new)
    return StockLoad(len(new), len(codes) - len(new), tuple(rejected))


LOW_STOCK_WINDOW_DAYS = 28


def low_stock(
    session: Session, provider: VoucherProvider, now: datetime
) -> dict[int, tuple[int, int]]:
    """Voucher values running low: {pence: (codes left, codes to keep)}. A value is low when
    fewer codes are left than LOW_STOCK_MINIMUM or than were issued in the four weeks
    before `now`, whichever is more; a value whose codes are all issued is low too. It
    counts rows only, so it needs no key."""
    from datetime import timedelta

    since = now - timedelta(days=LOW_STOCK_WINDOW_DAYS)
    rows = session.execute(
        select(
            VoucherStock.pence,
            func.count().filter(VoucherStock.issued_at.is_(None)),
            func.count().filter(
                VoucherStock.issued_at.is_not(None),
                VoucherStock.issued_at >= since,
                VoucherStock.issued_at <= now,
            ),
        )
        .where(VoucherStock.provider == provider.name)
        .group_by(VoucherStock.pence)
    )
    found = {}
    for pence, available, issued in rows:
        needed = max(LOW_STOCK_MINIMUM, int(issued))
        if available < needed:
            found[int(pence)] = (int(available), needed)
    return found
