"""Security headers, request ids, CSRF tokens, and the signed cookies that carry sessions."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import Request

SESSION_COOKIE = "mkdeal_session"
PRE_SESSION_COOKIE = "mkdeal_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def content_security_policy(nonce: str) -> str:
    """No inline script but the template's one nonce'd line; nothing from another host."""
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(nonce: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(nonce),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


class CookieSigner:
    """Signs the random tokens the browser holds, so tampered cookies are ignored."""

    def __init__(self, secret_key: bytes) -> None:
        self._serializer = URLSafeSerializer(secret_key, salt="mkdeal-cookie")
        self._csrf_key = hashlib.sha256(b"mkdeal-csrf:" + secret_key).digest()

    def sign(self, token: str) -> str:
        return self._serializer.dumps(token)

    def unsign(self, value: str | None) -> str | None:
        if not value:
            return None
        try:
            token = self._serializer.loads(value)
        except BadSignature:
            return None
        return token if isinstance(token, str) else None

    def csrf_token(self, bound_to: str) -> str:
        """A CSRF token bound to the session (or, before sign-in, the pre-session) token."""
        return hmac.new(self._csrf_key, bound_to.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, bound_to: str | None, given: str | None) -> bool:
        if not bound_to or not given:
            return False
        return hmac.compare_digest(self.csrf_token(bound_to), given)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
