"""Who may open each route: every route declares a rule, and one check enforces it.

A route without a rule is refused (and fails the permission-matrix test), so a new page
can never be public by accident.
"""

from __future__ import annotations

from collections.abc import Callable

ANYONE = "anyone"  # no sign-in needed, no permission (sign-in page, health checks)
SIGNED_IN = "signed_in"  # any signed-in user


def rule(requirement: str, *, sensitive: bool = False, bearer_token: bool = False) -> Callable:
    """Mark a route with what it needs: ANYONE, SIGNED_IN or a permission name.

    A sensitive page's every view is written to the audit log. A `bearer_token` route (the
    device sync API) authenticates each request itself by an Authorization header, which
    a browser never adds on its own to a request from another site, so it needs no CSRF
    token (and the phone app has no cookie to bind one to).
    """

    def mark(endpoint: Callable) -> Callable:
        endpoint.__mkdeal_rule__ = requirement
        endpoint.__mkdeal_sensitive__ = sensitive
        endpoint.__mkdeal_bearer__ = bearer_token
        return endpoint

    return mark


def uses_bearer_token(endpoint: Callable | None) -> bool:
    return getattr(endpoint, "__mkdeal_bearer__", False)


def rule_of(endpoint: Callable | None) -> str | None:
    return getattr(endpoint, "__mkdeal_rule__", None)


def is_sensitive(endpoint: Callable | None) -> bool:
    return getattr(endpoint, "__mkdeal_sensitive__", False)


def route_table(app) -> list[tuple[str, str, Callable]]:
    """(method, path, endpoint) of every API route, through included routers."""
    from fastapi.routing import APIRoute

    table = []

    def walk(routes, prefix: str = "") -> None:
        for route in routes:
            if isinstance(route, APIRoute):
                table.extend(
                    (method, prefix + route.path, route.endpoint) for method in route.methods
                )
            elif hasattr(route, "original_router"):  # FastAPI's included router
                walk(route.original_router.routes, prefix)

    walk(app.routes)
    return table
