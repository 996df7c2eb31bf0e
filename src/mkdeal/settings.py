"""Settings in one place.

Each setting comes from, in rising order of precedence: its default, a `mkdeal.toml` file
(the path in `MKDEAL_CONFIG`, else `./mkdeal.toml` when it exists), and an environment
variable `MKDEAL_<SETTING>`. Every value remembers where it came from, so `mkdeal config`
can say so.

The three keys (web secret key, pseudonymisation key, encryption key for stored secrets)
are read from `MKDEAL_<KEY>` (the key itself) or `MKDEAL_<KEY>_FILE` (a file holding it),
or `<key>_file` in `mkdeal.toml`. In `dev` a missing key is generated into the data folder
with owner-only permissions and a warning; in `prod` a missing key stops the command.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from mkdeal.errors import ConfigurationError
from mkdeal.keys import key_fingerprint

log = logging.getLogger(__name__)

ENVIRONMENTS = ("dev", "prod")
KEY_NAMES = ("secret_key", "pseudonymisation_key", "encryption_key")
KEY_PURPOSES = {
    "secret_key": "signs web sessions",
    "pseudonymisation_key": "turns NHS numbers into person_id",
    "encryption_key": "encrypts stored secrets such as voucher codes",
}
MINIMUM_KEY_LENGTH = 32
PLAIN_SETTINGS = (
    "env",
    "data_dir",
    "warehouse_url",
    "app_database_url",
    "identifiable_store_url",
)
DESCRIPTIONS = {
    "env": "dev or prod; keys are generated automatically only in dev",
    "data_dir": "everything mkdeal writes lives here unless a URL says otherwise",
    "warehouse_url": "ibis connection URL of the pseudonymised warehouse",
    "app_database_url": "SQLAlchemy URL of the app database",
    "identifiable_store_url": "SQLAlchemy URL of the identifiable store",
    **KEY_PURPOSES,
}


@dataclass(frozen=True)
class Settings:
    """What is in force for one command, with the source of every value."""

    env: str
    data_dir: Path
    warehouse_url: str
    app_database_url: str
    identifiable_store_url: str
    secret_key: bytes | None
    pseudonymisation_key: bytes | None
    encryption_key: bytes | None
    sources: Mapping[str, str] = field(default_factory=dict)
    config_file: Path | None = None

    @property
    def is_dev(self) -> bool:
        return self.env == "dev"

    @property
    def missing_keys(self) -> tuple[str, ...]:
        return tuple(name for name in KEY_NAMES if getattr(self, name) is None)

    @property
    def pseudonymisation_key_fingerprint(self) -> str | None:
        if self.pseudonymisation_key is None:
            return None
        return key_fingerprint(self.pseudonymisation_key)

    def require_keys(self) -> None:
        """Stop with a sentence when a key is missing (only possible in prod)."""
        if self.missing_keys:
            names = ", ".join(f"MKDEAL_{name.upper()}" for name in self.missing_keys)
            raise ConfigurationError(
                f"MKDEAL_ENV is {self.env!r} and no key is set for {names}. "
                f"Set each one (or MKDEAL_<KEY>_FILE pointing to a file that holds it, at "
                f"least {MINIMUM_KEY_LENGTH} characters); keys are generated automatically "
                f"only when MKDEAL_ENV=dev."
            )


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    cwd: Path | None = None,
    generate_dev_keys: bool = True,
) -> Settings:
    """Read settings from the environment and `mkdeal.toml`.

    Keys missing in `prod` are left as None here; commands call `require_keys()` so that
    `mkdeal config` can still show what is in force.
    """
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    config_file, file_values = _read_config_file(environ, cwd)

    values: dict[str, object] = {}
    sources: dict[str, str] = {}

    def take(name: str, default: object, default_source: str = "default") -> None:
        env_name = f"MKDEAL_{name.upper()}"
        if environ.get(env_name):
            values[name], sources[name] = environ[env_name], f"environment {env_name}"
        elif name in file_values:
            values[name], sources[name] = file_values[name], f"config file {config_file}"
        else:
            values[name], sources[name] = default, default_source

    take("env", "dev")
    env = str(values["env"]).strip().lower()
    if env not in ENVIRONMENTS:
        raise ConfigurationError(
            f"MKDEAL_ENV is {values['env']!r} ({sources['env']}), but it must be 'dev' or 'prod'."
        )
    take("data_dir", "data", "default (./data)")
    data_dir = Path(str(values["data_dir"])).expanduser()
    if not data_dir.is_absolute():
        data_dir = (cwd / data_dir).resolve()
    take(
        "warehouse_url", f"duckdb://{data_dir / 'warehouse.duckdb'}", "default (in the data folder)"
    )
    take(
        "app_database_url", f"sqlite:///{data_dir / 'app.sqlite3'}", "default (in the data folder)"
    )
    take(
        "identifiable_store_url",
        f"sqlite:///{data_dir / 'identifiable.sqlite3'}",
        "default (in the data folder)",
    )

    keys: dict[str, bytes | None] = {}
    for name in KEY_NAMES:
        key, source = _read_key(name, environ, file_values, config_file, cwd)
        if key is None and env == "dev" and generate_dev_keys:
            key, source = _dev_key(name, data_dir)
        keys[name] = key
        sources[name] = source

    return Settings(
        env=env,
        data_dir=data_dir,
        warehouse_url=str(values["warehouse_url"]),
        app_database_url=str(values["app_database_url"]),
        identifiable_store_url=str(values["identifiable_store_url"]),
        sources=sources,
        config_file=config_file,
        **keys,
    )


def _read_config_file(environ: Mapping[str, str], cwd: Path) -> tuple[Path | None, dict]:
    if environ.get("MKDEAL_CONFIG"):
        path = Path(environ["MKDEAL_CONFIG"]).expanduser()
        if not path.is_absolute():
            path = cwd / path
        if not path.is_file():
            raise ConfigurationError(
                f"MKDEAL_CONFIG names {path}, which does not exist. "
                "Point it at a mkdeal.toml file or unset it."
            )
    else:
        path = cwd / "mkdeal.toml"
        if not path.is_file():
            return None, {}
    try:
        content = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"The config file {path} is not valid TOML: {error}.") from None
    allowed = set(PLAIN_SETTINGS) | {f"{name}_file" for name in KEY_NAMES}
    for name, value in content.items():
        if name in KEY_NAMES:
            raise ConfigurationError(
                f"The config file {path} holds {name} itself. Keys do not belong in a config "
                f'file: use {name}_file = "path/to/file" or MKDEAL_{name.upper()}.'
            )
        if name not in allowed:
            raise ConfigurationError(
                f"The config file {path} has an unknown setting {name!r}. "
                f"Known settings: {', '.join(sorted(allowed))}."
            )
        if not isinstance(value, str):
            raise ConfigurationError(
                f"The config file {path} gives {name} as {type(value).__name__}; "
                "it must be a string in quotes."
            )
    return path, content


def _read_key(
    name: str,
    environ: Mapping[str, str],
    file_values: Mapping[str, str],
    config_file: Path | None,
    cwd: Path,
) -> tuple[bytes | None, str]:
    env_name = f"MKDEAL_{name.upper()}"
    if environ.get(env_name):
        return _checked_key(name, environ[env_name], f"environment {env_name}"), (
            f"environment {env_name}"
        )
    if environ.get(f"{env_name}_FILE"):
        path = Path(environ[f"{env_name}_FILE"]).expanduser()
        source = f"file {path} (environment {env_name}_FILE)"
    elif f"{name}_file" in file_values:
        path = Path(file_values[f"{name}_file"]).expanduser()
        if not path.is_absolute() and config_file is not None:
            path = config_file.parent / path
        source = f"file {path} (config file {config_file})"
    else:
        return None, "not set"
    if not path.is_absolute():
        path = cwd / path
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigurationError(
            f"The {name.replace('_', ' ')} file {path} cannot be read ({error.strerror})."
        ) from None
    return _checked_key(name, text, source), source


def _checked_key(name: str, text: str, source: str) -> bytes:
    text = text.strip()
    if len(text) < MINIMUM_KEY_LENGTH:
        raise ConfigurationError(
            f"The {name.replace('_', ' ')} from {source} is {len(text)} characters long; "
            f"it must be at least {MINIMUM_KEY_LENGTH}. Generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
        )
    return text.encode("utf-8")


def _dev_key(name: str, data_dir: Path) -> tuple[bytes, str]:
    """Read, or create once, a development key kept in the data folder."""
    keys_dir = data_dir / "keys"
    path = keys_dir / f"{name}.key"
    if path.exists():
        return _checked_key(name, path.read_text(encoding="utf-8"), str(path)), (
            f"file {path} (generated for dev)"
        )
    keys_dir.mkdir(parents=True, exist_ok=True)
    keys_dir.chmod(stat.S_IRWXU)
    key = secrets.token_urlsafe(32)
    # O_EXCL: two commands starting at once must not each write a different key.
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _dev_key(name, data_dir)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    log.warning(
        "Generated a new development %s at %s (MKDEAL_ENV=dev)%s",
        name.replace("_", " "),
        path,
        "; back it up: person_ids made under one pseudonymisation key never match those "
        "made under another."
        if name == "pseudonymisation_key"
        else ".",
    )
    return key.encode("utf-8"), f"file {path} (generated for dev)"


def mask_url(url: str) -> str:
    """Hide a password in a database URL."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def describe(settings: Settings) -> list[tuple[str, str, str]]:
    """Rows of (setting, value shown to a person, where it came from); secrets masked."""
    rows = [
        ("env", settings.env, settings.sources["env"]),
        ("data_dir", str(settings.data_dir), settings.sources["data_dir"]),
    ]
    for name in ("warehouse_url", "app_database_url", "identifiable_store_url"):
        rows.append((name, mask_url(getattr(settings, name)), settings.sources[name]))
    for name in KEY_NAMES:
        key = getattr(settings, name)
        shown = "MISSING" if key is None else f"set, {len(key)} characters (hidden)"
        rows.append((name, shown, settings.sources[name]))
    return rows
