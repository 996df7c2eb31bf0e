"""Server-side sessions: revocable, with idle and absolute time-outs.

The browser holds a random token (in a signed, HTTP-only, SameSite cookie); the database
holds only its SHA-256, so a leaked database cannot be replayed as sessions. A new token
is issued at every sign-in, so a token planted before sign-in is worthless after it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from mkdeal.appdb.models import WebSession

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
# Recording every request's time would write on every page view; a minute is precise enough.
TOUCH_EVERY = timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(engine: Engine, user_id: int, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    with Session(engine) as session, session.begin():
        session.add(
            WebSession(token_hash=_hash(token), user_id=user_id, created_at=now, last_seen_at=now)
        )
    return token


def user_of(engine: Engine, token: str, now: datetime) -> int | None:
    """The signed-in user's id, or None when the session is unknown, ended or timed out."""
    with Session(engine) as session, session.begin():
        web_session = session.get(WebSession, _hash(token))
        if web_session is None or web_session.revoked_at is not None:
            return None
        if (
            now - web_session.last_seen_at > IDLE_TIMEOUT
            or now - web_session.created_at > ABSOLUTE_TIMEOUT
        ):
            web_session.revoked_at = now
            return None
        if now - web_session.last_seen_at >= TOUCH_EVERY:
            web_session.last_seen_at = now
        return web_session.user_id


def end(engine: Engine, token: str, now: datetime) -> None:
    with Session(engine) as session, session.begin():
        web_session = session.get(WebSession, _hash(token))
        if web_session is not None and web_session.revoked_at is None:
            web_session.revoked_at = now
