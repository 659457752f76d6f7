"""Settings come from the environment (prefix CAREPATH_), are frozen, and never show secrets."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from carepath.errors import InputError
from carepath.resources import bundled_config_dir
from carepath.settings import Settings


def test_defaults_put_everything_under_var_in_the_working_directory(tmp_path: Path) -> None:
    """No variables: home is ./var, the database a SQLite file inside it, mail to a folder."""
    settings = Settings.from_env({}, cwd=tmp_path)
    assert settings.home == tmp_path / "var"
    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'carepath.db'}"
    assert (settings.mail_transport, settings.smtp_port, settings.smtp_security) == (
        "folder", 25, "none")
    assert settings.mail_dir == tmp_path / "var" / "mail"
    assert settings.actor == "admin"


def test_without_a_local_config_folder_the_bundled_example_is_used(tmp_path: Path) -> None:
    """An installed carepath run anywhere still finds a config: the bundled example."""
    assert Settings.from_env({}, cwd=tmp_path).config_dir == bundled_config_dir()


def test_a_config_folder_in_the_working_directory_wins_over_the_bundled_one(
    tmp_path: Path,
) -> None:
    """./config with a clinic.yaml is the clinic's own configuration."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "clinic.yaml").write_text("name: x\n", encoding="utf-8")
    assert Settings.from_env({}, cwd=tmp_path).config_dir == tmp_path / "config"


def test_carepath_home_config_dir_and_database_url_override_the_defaults(
    tmp_path: Path,
) -> None:
    """Relative paths are taken from the working directory; the URL is used as given."""
    env = {"CAREPATH_HOME": "data", "CAREPATH_CONFIG_DIR": "/srv/clinic/config",
           "CAREPATH_DATABASE_URL": "postgresql://carepath@127.0.0.1/carepath"}
    settings = Settings.from_env(env, cwd=tmp_path)
    assert settings.home == tmp_path / "data"
    assert settings.config_dir == Path("/srv/clinic/config")
    assert settings.database_url == "postgresql://carepath@127.0.0.1/carepath"


def test_the_database_follows_carepath_home_when_no_url_is_given(tmp_path: Path) -> None:
    """CAREPATH_HOME moves the SQLite file with it."""
    settings = Settings.from_env({"CAREPATH_HOME": str(tmp_path / "elsewhere")}, cwd=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'elsewhere' / 'carepath.db'}"


def test_the_audit_actor_comes_from_carepath_actor_then_user(tmp_path: Path) -> None:
    """Who the audit log records: CAREPATH_ACTOR, else the login name."""
    assert Settings.from_env({"USER": "maria"}, cwd=tmp_path).actor == "maria"
    assert Settings.from_env({"USER": "maria", "CAREPATH_ACTOR": "front-desk"},
                             cwd=tmp_path).actor == "front-desk"


@pytest.mark.parametrize(("name", "value", "why"), [
    ("CAREPATH_MAIL_TRANSPORT", "carrier-pigeon", "'carrier-pigeon' is not one of folder, smtp"),
    ("CAREPATH_SMTP_SECURITY", "ssl", "'ssl' is not one of starttls, tls, none"),
    ("CAREPATH_SMTP_PORT", "twenty-five", "'twenty-five' is not a whole number"),
])
def test_a_bad_setting_is_an_input_error_naming_the_variable(
    name: str, value: str, why: str, tmp_path: Path
) -> None:
    """A typo in the environment is one clear error: which variable, what is wrong, the fix."""
    with pytest.raises(InputError) as caught:
        Settings.from_env({name: value}, cwd=tmp_path)
    assert (caught.value.what, caught.value.why) == (name, why)
    assert caught.value.fix.startswith(f"set {name}")


def test_smtp_over_tls_defaults_to_port_465(tmp_path: Path) -> None:
    """Implicit TLS has its own port; STARTTLS and plain keep 25 unless told."""
    env = {"CAREPATH_MAIL_TRANSPORT": "smtp", "CAREPATH_SMTP_SECURITY": "tls"}
    assert Settings.from_env(env, cwd=tmp_path).smtp_port == 465
    env["CAREPATH_SMTP_PORT"] = "2465"
    assert Settings.from_env(env, cwd=tmp_path).smtp_port == 2465


def test_secrets_are_read_from_the_environment_and_never_shown(tmp_path: Path) -> None:
    """Passwords are kept for use but masked in repr and in the printable view."""
    env = {"CAREPATH_SMTP_PASSWORD": "s3cret-smtp", "CAREPATH_CALDAV_PASSWORD": "s3cret-dav"}
    settings = Settings.from_env(env, cwd=tmp_path)
    assert settings.smtp_password == "s3cret-smtp"
    assert "s3cret" not in repr(settings)
    public = settings.public()
    assert (public["smtp_password"], public["caldav_password"]) == ("***", "***")
    assert "s3cret" not in str(public)


def test_settings_are_frozen(tmp_path: Path) -> None:
    """Read once at start-up, then passed down unchanged."""
    settings = Settings.from_env({}, cwd=tmp_path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.home = tmp_path  # type: ignore[misc]
