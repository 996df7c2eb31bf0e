"""Roles and permissions, read from roles.toml: data, not code."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from mkdeal.errors import ConfigurationError, UserError

PUBLIC_ROLE = "public"


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    permissions: frozenset[str]


@dataclass(frozen=True)
class RoleBook:
    permissions: dict[str, str]  # name -> what it allows
    roles: dict[str, Role]

    def role(self, name: str) -> Role:
        if name not in self.roles:
            raise UserError(f"There is no role {name!r}; the roles are {', '.join(self.roles)}.")
        return self.roles[name]

    def permissions_of(self, role_names: set[str] | frozenset[str]) -> frozenset[str]:
        """Everything the roles grant, with what the public has."""
        granted = set(self.roles[PUBLIC_ROLE].permissions)
        for name in role_names:
            if name in self.roles:
                granted |= self.roles[name].permissions
        return frozenset(granted)


@cache
def role_book() -> RoleBook:
    source = files("mkdeal.access").joinpath("roles.toml")
    data = tomllib.loads(source.read_text(encoding="utf-8"))
    permissions = dict(data["permissions"])
    roles = {}
    for name, spec in data["roles"].items():
        unknown = sorted(set(spec["permissions"]) - set(permissions))
        if unknown:
            raise ConfigurationError(f"roles.toml: role {name!r} grants unknown {unknown}.")
        roles[name] = Role(name, spec["description"], frozenset(spec["permissions"]))
    if PUBLIC_ROLE not in roles:
        raise ConfigurationError("roles.toml must define the public role.")
    return RoleBook(permissions, roles)
