"""Settings come from the environment (prefix CAREPATH_), are frozen, and never show secrets."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from carepath.config.resources import bundled_config_dir
from carepath.config.settings import Settings
from carepath.errors import InputError


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
    ("CAREPATH_DISPATCH_SECONDS", "0", "'0' is not a positive number of seconds"),
    ("CAREPATH_REMINDER_SECONDS", "soon", "'soon' is not a positive number of seconds"),
    ("CAREPATH_DAILY_AT", "6am", "'6am' is not a time of day"),
    ("CAREPATH_LEASE_RENEW_SECONDS", "100",
     "100 s is more than half of CAREPATH_LEASE_SECONDS (180 s)"),
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


def _settings_file(tmp_path: Path, text: str) -> dict[str, str]:
    folder = tmp_path / "etc"
    folder.mkdir(exist_ok=True)
    (folder / "settings.toml").write_text(text, encoding="utf-8")
    return {"CAREPATH_SETTINGS_FILE": "etc/settings.toml"}


def test_a_settings_file_supplies_what_the_environment_does_not(tmp_path: Path) -> None:
    """Keys are the variable names without CAREPATH_; paths are relative to the file."""
    env = _settings_file(tmp_path, 'home = "../data"\nmail_transport = "smtp"\n'
                         'smtp_port = 587\nsmtp_host = "mail.example.org"\n')
    settings = Settings.from_env(env, cwd=tmp_path)
    assert settings.home == tmp_path / "data"
    assert (settings.mail_transport, settings.smtp_host, settings.smtp_port) == (
        "smtp", "mail.example.org", 587)


def test_the_environment_wins_over_the_settings_file(tmp_path: Path) -> None:
    """A variable set for one run overrides the file."""
    env = _settings_file(tmp_path, 'smtp_host = "mail.example.org"\n')
    env["CAREPATH_SMTP_HOST"] = "127.0.0.1"
    assert Settings.from_env(env, cwd=tmp_path).smtp_host == "127.0.0.1"


def test_a_settings_file_may_not_hold_secrets_or_unknown_keys(tmp_path: Path) -> None:
    """Passwords belong in the environment; a misspelt key is named with a suggestion."""
    env = _settings_file(tmp_path, 'smtp_password = "hunter2"\nsmtp_hots = "x"\n')
    with pytest.raises(InputError) as caught:
        Settings.from_env(env, cwd=tmp_path)
    assert caught.value.why == (
        "smtp_password: secrets are read only from the environment (set "
        "CAREPATH_SMTP_PASSWORD instead); smtp_hots: unknown setting (did you mean 'smtp_host'?)")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(("text", "why"), [
    ('home = "var"\nhome = "x"\n', "not a TOML file"),
    ("smtp_port = [25]\n", "smtp_port: expected text or a number"),
])
def test_a_broken_settings_file_is_one_clear_error(text: str, why: str, tmp_path: Path) -> None:
    """Bad TOML or a value of the wrong kind: an InputError naming the file."""
    env = _settings_file(tmp_path, text)
    with pytest.raises(InputError) as caught:
        Settings.from_env(env, cwd=tmp_path)
    assert caught.value.what == str(tmp_path / "etc" / "settings.toml")
    assert caught.value.why.startswith(why)


def test_a_settings_file_that_does_not_exist_is_named(tmp_path: Path) -> None:
    """A wrong CAREPATH_SETTINGS_FILE is an error, not silently ignored."""
    with pytest.raises(InputError, match="not found"):
        Settings.from_env({"CAREPATH_SETTINGS_FILE": "nope.toml"}, cwd=tmp_path)


def test_serve_intervals_and_lease_come_from_the_environment(tmp_path: Path) -> None:
    """Tests and small clinics run serve in seconds; the daily time is normalised to HH:MM."""
    settings = Settings.from_env({"CAREPATH_DISPATCH_SECONDS": "0.5", "CAREPATH_DAILY_AT": "7:05",
                                  "CAREPATH_LEASE_SECONDS": "4",
                                  "CAREPATH_LEASE_RENEW_SECONDS": "1"}, cwd=tmp_path)
    assert (settings.dispatch_seconds, settings.reminder_seconds) == (0.5, 300.0)
    assert (settings.daily_at, settings.lease_seconds, settings.lease_renew_seconds) == (
        "07:05", 4.0, 1.0)
