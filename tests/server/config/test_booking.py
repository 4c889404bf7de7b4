"""The smtp/outbox config sections and the secrets around bookings: never inline, never logged."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.api.app import safe_url
from server.booking.side_effects import describe_smtp, smtp_settings
from server.config import ConfigError, load_config, parse_config

SECRET = "correct-horse-battery-staple"
SMTP = {"host": "mail.example.org", "username": "bookings", "sender": "bookings@example.org"}


def test_the_smtp_password_cannot_be_written_inline() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"smtp": {**SMTP, "password": SECRET}})
    assert "smtp.password" in str(caught.value)


def test_the_password_comes_from_a_file_or_the_environment_and_is_never_shown(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "smtp").write_text(SECRET + "\n")
    config_file = tmp_path / "convene.yaml"
    config_file.write_text("smtp: {host: mail.example.org, username: bookings, sender: bookings@example.org, "
                           "password_file: secrets/smtp}\n")
    smtp = load_config(config_file).smtp
    assert smtp is not None and smtp.password_file == tmp_path / "secrets" / "smtp"  # relative to the config
    settings = smtp_settings(smtp)
    assert settings.password == SECRET
    assert SECRET not in repr(settings) and SECRET not in describe_smtp(smtp)

    monkeypatch.setenv("CONVENE_TEST_SMTP", SECRET)
    from_env = parse_config({"smtp": {**SMTP, "password_env": "CONVENE_TEST_SMTP"}}).smtp
    assert from_env is not None and smtp_settings(from_env).password == SECRET
    monkeypatch.delenv("CONVENE_TEST_SMTP")
    with pytest.raises(ConfigError) as caught:
        smtp_settings(from_env)
    assert "smtp.password_env" in str(caught.value) and SECRET not in str(caught.value)


def test_bad_smtp_and_outbox_settings_name_the_field() -> None:
    for section, field in [({"smtp": {**SMTP, "password_file": "a", "password_env": "B"}}, "smtp"),
                           ({"smtp": {"host": "h", "sender": "not-an-address"}}, "smtp.sender"),
                           ({"smtp": {"host": "h", "sender": "a@b", "password_env": "B"}}, "smtp"),
                           ({"outbox": {"poll_seconds": 0}}, "outbox.poll_seconds")]:
        with pytest.raises(ConfigError) as caught:
            parse_config(section)
        assert f"  {field}" in str(caught.value), str(caught.value)


def test_database_urls_are_logged_without_their_password() -> None:
    assert safe_url("postgresql://app:s3cret@db:5432/convene") == "postgresql://app:***@db:5432/convene"
    assert safe_url("postgresql://app@db/convene?sslmode=require&password=s3cret") == \
        "postgresql://app@db/convene?sslmode=require&password=***"
    assert safe_url("sqlite:///var/convene.sqlite3") == "sqlite:///var/convene.sqlite3"
