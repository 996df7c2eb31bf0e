import stat
from pathlib import Path

import pytest

from mkdeal.errors import ConfigurationError
from mkdeal.keys import key_fingerprint
from mkdeal.settings import describe, load_settings, mask_url

from .conftest import TEST_KEYS


def test_settings_defaults_live_in_the_data_folder(settings, data_dir):
    assert settings.env == "dev"
    assert settings.data_dir == data_dir
    assert settings.warehouse_url == f"duckdb://{data_dir}/warehouse.duckdb"
    assert settings.app_database_url == f"sqlite:///{data_dir}/app.sqlite3"
    assert settings.identifiable_store_url == f"sqlite:///{data_dir}/identifiable.sqlite3"
    assert settings.sources["data_dir"] == "environment MKDEAL_DATA_DIR"


def test_settings_environment_overrides_config_file(tmp_path, data_dir):
    (tmp_path / "mkdeal.toml").write_text(
        'app_database_url = "sqlite:///from-file.db"\nwarehouse_url = "duckdb://from-file.duckdb"\n'
    )
    environ = {
        **TEST_KEYS,
        "MKDEAL_DATA_DIR": str(data_dir),
        "MKDEAL_WAREHOUSE_URL": "duckdb://env.duckdb",
    }

    settings = load_settings(environ, cwd=tmp_path)

    assert settings.warehouse_url == "duckdb://env.duckdb"
    assert settings.app_database_url == "sqlite:///from-file.db"
    assert settings.sources["app_database_url"].startswith("config file ")
    assert settings.config_file == tmp_path / "mkdeal.toml"


def test_settings_relative_data_dir_is_resolved_from_the_working_folder(tmp_path):
    settings = load_settings({**TEST_KEYS, "MKDEAL_DATA_DIR": "here"}, cwd=tmp_path)
    assert settings.data_dir == tmp_path / "here"


def test_settings_unknown_config_setting_is_named(tmp_path):
    (tmp_path / "mkdeal.toml").write_text('warehouse = "duckdb://x"\n')
    with pytest.raises(ConfigurationError, match="unknown setting 'warehouse'"):
        load_settings(TEST_KEYS, cwd=tmp_path)


def test_settings_key_in_config_file_is_refused(tmp_path):
    (tmp_path / "mkdeal.toml").write_text('pseudonymisation_key = "' + "k" * 40 + '"\n')
    with pytest.raises(ConfigurationError, match="Keys do not belong in a config file"):
        load_settings({}, cwd=tmp_path)


def test_settings_missing_config_file_named_by_mkdeal_config(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_settings({"MKDEAL_CONFIG": "nowhere.toml"}, cwd=tmp_path)


def test_settings_invalid_env_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="must be 'dev' or 'prod'"):
        load_settings({"MKDEAL_ENV": "production"}, cwd=tmp_path)


def test_settings_dev_keys_are_generated_once_owner_only(tmp_path, caplog):
    environ = {"MKDEAL_DATA_DIR": str(tmp_path / "d")}

    first = load_settings(environ, cwd=tmp_path)
    second = load_settings(environ, cwd=tmp_path)

    key_file = tmp_path / "d" / "keys" / "pseudonymisation_key.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert first.pseudonymisation_key == second.pseudonymisation_key
    assert len({first.secret_key, first.pseudonymisation_key, first.encryption_key}) == 3
    assert "Generated a new development pseudonymisation key" in caplog.text


def test_settings_prod_without_keys_stops_with_a_sentence(tmp_path):
    settings = load_settings({"MKDEAL_ENV": "prod", "MKDEAL_DATA_DIR": str(tmp_path)}, cwd=tmp_path)

    assert settings.missing_keys == ("secret_key", "pseudonymisation_key", "encryption_key")
    assert not (tmp_path / "keys").exists()
    with pytest.raises(
        ConfigurationError, match="generated automatically only when MKDEAL_ENV=dev"
    ):
        settings.require_keys()


def test_settings_prod_ignores_keys_generated_for_dev(tmp_path):
    load_settings({"MKDEAL_DATA_DIR": str(tmp_path)}, cwd=tmp_path)
    settings = load_settings({"MKDEAL_ENV": "prod", "MKDEAL_DATA_DIR": str(tmp_path)}, cwd=tmp_path)
    assert settings.pseudonymisation_key is None


def test_settings_key_from_file(tmp_path):
    key_file = tmp_path / "pk"
    key_file.write_text("f" * 40 + "\n")
    environ = {**TEST_KEYS, "MKDEAL_ENV": "prod", "MKDEAL_PSEUDONYMISATION_KEY_FILE": str(key_file)}
    del environ["MKDEAL_PSEUDONYMISATION_KEY"]

    settings = load_settings(environ, cwd=tmp_path)

    assert settings.pseudonymisation_key == b"f" * 40
    assert settings.sources["pseudonymisation_key"].startswith(f"file {key_file}")


def test_settings_short_key_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="at least 32"):
        load_settings({**TEST_KEYS, "MKDEAL_SECRET_KEY": "short"}, cwd=tmp_path)


def test_settings_unreadable_key_file_is_named(tmp_path):
    environ = {**TEST_KEYS, "MKDEAL_ENCRYPTION_KEY_FILE": str(tmp_path / "missing")}
    del environ["MKDEAL_ENCRYPTION_KEY"]
    with pytest.raises(ConfigurationError, match=r"encryption key file .*missing cannot be read"):
        load_settings(environ, cwd=tmp_path)


def test_describe_never_shows_key_material(settings):
    shown = repr(describe(settings))
    for key in TEST_KEYS.values():
        assert key not in shown
    assert "hidden" in shown


def test_mask_url_hides_password():
    assert mask_url("postgresql://user:secret@db:5432/x") == "postgresql://user:***@db:5432/x"
    assert mask_url("sqlite:///a.db") == "sqlite:///a.db"


def test_key_fingerprint_is_stable_and_short():
    assert key_fingerprint(b"a" * 32) == key_fingerprint(b"a" * 32)
    assert key_fingerprint(b"a" * 32) != key_fingerprint(b"b" * 32)
    assert len(key_fingerprint(b"a" * 32)) == len("sha256:") + 16


def test_settings_config_file_key_file_is_relative_to_config(tmp_path: Path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "pk").write_text("p" * 40)
    (tmp_path / "conf" / "mkdeal.toml").write_text('pseudonymisation_key_file = "pk"\n')
    environ = {**TEST_KEYS, "MKDEAL_CONFIG": str(tmp_path / "conf" / "mkdeal.toml")}
    del environ["MKDEAL_PSEUDONYMISATION_KEY"]

    settings = load_settings(environ, cwd=tmp_path)

    assert settings.pseudonymisation_key == b"p" * 40
