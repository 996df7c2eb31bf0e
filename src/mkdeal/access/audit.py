"""The audit log: sign-ins, grants, and every view of a page marked sensitive."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from mkdeal.appdb.models import AuditEvent


def record(
    engine: Engine,
    actor: str,
    action: str,
    target: str | None = None,
    detail: str | None = None,
    request_id: str | None = None,
    at: datetime | None = None,
) -> None:
    with Session(engine) as session, session.begin():
        session.add(
            AuditEvent(
                at=at or datetime.now(UTC),
                actor=actor,
                action=action,
                target=target,
                detail=detail,
                request_id=request_id,
            )
        )


def recent(engine: Engine, limit: int = 100) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)))
