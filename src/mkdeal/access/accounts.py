"""Organisations, users, role grants, and signing in with a password.

Passwords are hashed with argon2 (argon2-cffi's defaults, RFC 9106's second recommended
option); a hash carries its own parameters, so tests may create users with cheaper ones
and verification still works. Failed sign-ins are counted per account and per address in
the app database; past `MAX_FAILURES` in `FAILURE_WINDOW` further attempts are refused
until the window ends, whatever the password.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from mkdeal.access import audit
from mkdeal.access.roles import role_book
from mkdeal.appdb.models import (
    Organisation,
    SignInFailure,
    User,
    UserOrganisation,
    UserRole,
    WebSession,
)
from mkdeal.deal import load_deal
from mkdeal.errors import UserError

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
MINIMUM_PASSWORD_LENGTH = 12
DEFAULT_HASHER = PasswordHasher()


class SignInRefused(Exception):
    """Wrong name or password, or a disabled account: the page says which it may."""


class SignInThrottled(Exception):
    def __init__(self, retry_after: timedelta) -> None:
        super().__init__(f"retry after {retry_after}")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Account:
    """A signed-in user as pages see them: who, where from, and what they may do."""

    id: int
    username: str
    display_name: str
    roles: frozenset[str]
    permissions: frozenset[str]
    organisation_codes: frozenset[str]


def sync_organisations(engine: Engine) -> int:
    """Make the organisations table match the Deal's partners; returns how many changed.

    An organisation's code is its ODS code, else its ONS code, else the Deal's partner id.
    """
    changed = 0
    with Session(engine) as session, session.begin():
        existing = {o.partner_id: o for o in session.scalars(select(Organisation))}
        for partner in load_deal().partners:
            code = partner.ods_code or partner.ons_code or partner.id
            current = existing.get(partner.id)
            if current is None:
                session.add(Organisation(code=code, name=partner.name, partner_id=partner.id))
                changed += 1
            elif (current.code, current.name) != (code, partner.name):
                current.code, current.name = code, partner.name
                changed += 1
    return changed


def add_user(
    engine: Engine,
    username: str,
    display_name: str,
    password: str,
    *,
    organisations: list[str],
    roles: list[str],
    actor: str,
    hasher: PasswordHasher = DEFAULT_HASHER,
) -> None:
    username = username.strip().lower()
    if not username or not username.replace(".", "").replace("-", "").replace("_", "").isalnum():
        raise UserError(
            f"{username!r} is not a usable user name: use letters, digits, dots, hyphens."
        )
    if len(password) < MINIMUM_PASSWORD_LENGTH:
        raise UserError(f"The password must be at least {MINIMUM_PASSWORD_LENGTH} characters long.")
    book = role_book()
    for role in roles:
        book.role(role)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        if session.scalar(select(User).where(User.username == username)):
            raise UserError(f"There is already a user {username!r}.")
        orgs = _organisations(session, organisations)
        user = User(
            username=username,
            display_name=display_name,
            password_hash=hasher.hash(password),
            created_at=now,
        )
        session.add(user)
        session.flush()
        for org in orgs:
            session.add(UserOrganisation(user_id=user.id, organisation_id=org.id))
        for role in roles:
            session.add(UserRole(user_id=user.id, role=role, granted_at=now, granted_by=actor))
    audit.record(engine, actor, "user.add", username, f"roles: {', '.join(roles) or 'none'}")
    for role in roles:
        audit.record(engine, actor, "role.grant", username, role)


def _organisations(session: Session, codes: list[str]) -> list[Organisation]:
    found = []
    for code in codes:
        org = session.scalar(select(Organisation).where(Organisation.code == code))
        if org is None:
            known = ", ".join(o.code for o in session.scalars(select(Organisation)))
            known = known or "none yet (run `mkdeal db upgrade`)"
            raise UserError(f"There is no organisation {code!r}. Known: {known}.")
        found.append(org)
    return found


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise UserError(f"There is no user {username!r}. `mkdeal users list` shows them.")
    return user


def list_users(engine: Engine) -> list[dict]:
    with Session(engine) as session:
        rows = []
        for user in session.scalars(select(User).order_by(User.username)):
            roles = sorted(
                session.scalars(select(UserRole.role).where(UserRole.user_id == user.id))
            )
            orgs = sorted(
                session.scalars(
                    select(Organisation.code)
                    .join(UserOrganisation, UserOrganisation.organisation_id == Organisation.id)
                    .where(UserOrganisation.user_id == user.id)
                )
            )
            rows.append(
                {
                    "username": user.username,
                    "display_name": user.display_name,
                    "roles": roles,
                    "organisations": orgs,
                    "disabled": user.disabled_at is not None,
                }
            )
        return rows


def disable_user(engine: Engine, username: str, *, actor: str) -> None:
    """Disable an account and end its sessions at once."""
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        user = _user(session, username)
        user.disabled_at = user.disabled_at or now
        for web_session in session.scalars(
            select(WebSession).where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None))
        ):
            web_session.revoked_at = now
    audit.record(engine, actor, "user.disable", username)


def set_password(
    engine: Engine,
    username: str,
    password: str,
    *,
    actor: str,
    hasher: PasswordHasher = DEFAULT_HASHER,
) -> None:
    """Set a new password and end the user's sessions."""
    if len(password) < MINIMUM_PASSWORD_LENGTH:
        raise UserError(f"The password must be at least {MINIMUM_PASSWORD_LENGTH} characters long.")
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        user = _user(session, username)
        user.password_hash = hasher.hash(password)
        for web_session in session.scalars(
            select(WebSession).where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None))
        ):
            web_session.revoked_at = now
    audit.record(engine, actor, "user.set_password", username)


def grant(engine: Engine, username: str, role: str, *, actor: str) -> bool:
    role_book().role(role)
    with Session(engine) as session, session.begin():
        user = _user(session, username)
        if session.get(UserRole, (user.id, role)):
            return False
        session.add(
            UserRole(user_id=user.id, role=role, granted_at=datetime.now(UTC), granted_by=actor)
        )
    audit.record(engine, actor, "role.grant", username, role)
    return True


def revoke(engine: Engine, username: str, role: str, *, actor: str) -> bool:
    with Session(engine) as session, session.begin():
        user = _user(session, username)
        result = session.execute(
            delete(UserRole).where(UserRole.user_id == user.id, UserRole.role == role)
        )
        if result.rowcount == 0:
            return False
    audit.record(engine, actor, "role.revoke", username, role)
    return True


def account(engine: Engine, user_id: int) -> Account | None:
    """The account as of now (roles re-read on every request, so a revoke bites at once)."""
    with Session(engine) as session:
        user = session.get(User, user_id)
        if user is None or user.disabled_at is not None:
            return None
        roles = frozenset(session.scalars(select(UserRole.role).where(UserRole.user_id == user.id)))
        orgs = frozenset(
            session.scalars(
                select(Organisation.code)
                .join(UserOrganisation, UserOrganisation.organisation_id == Organisation.id)
                .where(UserOrganisation.user_id == user.id)
            )
        )
        return Account(
            user.id,
            user.username,
            user.display_name,
            roles,
            role_book().permissions_of(roles),
            orgs,
        )


def authenticate(
    engine: Engine, username: str, password: str, *, address: str, now: datetime
) -> int:
    """The user id for a right name and password; raises SignInRefused or SignInThrottled."""
    username = username.strip().lower()
    keys = [f"account:{username}", f"address:{address}"]
    with Session(engine) as session, session.begin():
        for key in keys:
            failure = session.get(SignInFailure, key)
            in_window = failure and now - failure.window_started_at < FAILURE_WINDOW
            if in_window and failure.failures >= MAX_FAILURES:
                raise SignInThrottled(FAILURE_WINDOW - (now - failure.window_started_at))
        user = session.scalar(select(User).where(User.username == username))
        ok = False
        if user is not None and user.disabled_at is None:
            try:
                ok = DEFAULT_HASHER.verify(user.password_hash, password)
            except (VerificationError, InvalidHashError):
                ok = False
        else:
            # Spend the same time as a real check, so timing does not reveal user names.
            with contextlib.suppress(VerificationError):
                DEFAULT_HASHER.verify(_dummy_hash(), password)
        if ok:
            failure = session.get(SignInFailure, keys[0])
            if failure:
                session.delete(failure)
            return user.id
        for key in keys:
            failure = session.get(SignInFailure, key)
            if failure is None or now - failure.window_started_at >= FAILURE_WINDOW:
                if failure:
                    session.delete(failure)
                    session.flush()
                session.add(SignInFailure(key=key, window_started_at=now, failures=1))
            else:
                failure.failures += 1
    raise SignInRefused()


@cache
def _dummy_hash() -> str:
    return DEFAULT_HASHER.hash("not a real password, only for timing")
