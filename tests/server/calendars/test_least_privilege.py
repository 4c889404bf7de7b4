"""Each calendar asks for the narrowest access its configured use needs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from providers.google import FREE_BUSY_SCOPE, READ_SCOPE, WRITE_SCOPE
from server.config import parse_config
from server.tenants import load_tenants
from tests.paths import REPO

CALENDAR = "https://www.googleapis.com/auth/calendar"


@pytest.fixture(scope="module")
def scopes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, ...]]:
    """The scopes each configured use's credentials ask for (one RSA key for the module)."""
    return scopes_of_each(tmp_path_factory.mktemp("google"))


def service_account(tmp_path: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path = tmp_path / "google.json"
    path.write_text(json.dumps({"type": "service_account", "client_email": "convene@project.iam.example",
                                "private_key": pem, "private_key_id": "1", "token_uri": "https://oauth2.example/t",
                                "project_id": "p"}))
    return path


def scopes_of_each(tmp_path: Path) -> dict[str, tuple[str, ...]]:
    google = {"kind": "google", "credentials_file": str(service_account(tmp_path)), "subject": "admin@x.org"}
    config = parse_config({"tenants": {"team": {
        "members": [
            {"id": "reads", "calendar": {**google, "calendar_id": "a@x.org", "write": False}},
            {"id": "free-busy", "calendar": {**google, "calendar_id": "b@x.org", "free_busy_only": True,
                                             "write": False}},
            {"id": "organizer", "calendar": {**google, "calendar_id": "c@x.org"}},
            {"id": "free-busy-organizer", "calendar": {**google, "calendar_id": "d@x.org", "free_busy_only": True}},
        ],
        "rooms": [{"id": "room", "calendar": {**google, "calendar_id": "r@x.org"}}],
    }}})
    calendars = load_tenants(config)["team"].calendars.calendars  # type: ignore[attr-defined]
    return {resource: tuple(provider._credentials._scopes) for resource, (provider, _) in calendars.items()}


def test_google_asks_per_use_for_free_busy_read_or_write_never_the_full_calendar_scope(
        scopes: dict[str, tuple[str, ...]]) -> None:
    assert scopes == {
        "reads": (READ_SCOPE,),
        "free-busy": (FREE_BUSY_SCOPE,),
        "organizer": (WRITE_SCOPE,),
        "free-busy-organizer": (FREE_BUSY_SCOPE, WRITE_SCOPE),
        "room": (READ_SCOPE,),  # a room's calendar is never written, whatever write says
    }


@pytest.mark.parametrize(("use", "methods"), [
    ("free-busy", ["freebusy.query"]),
    ("reads", ["events.list"]),
    ("organizer", ["events.list", "events.insert", "events.update", "events.delete"]),
    ("free-busy-organizer", ["freebusy.query", "events.insert", "events.update", "events.delete"]),
])
def test_each_method_a_use_calls_accepts_one_of_its_scopes(scopes: dict[str, tuple[str, ...]], use: str,
                                                           methods: list[str]) -> None:
    """Against Google's discovery document (shipped with the client): the narrow scopes suffice."""
    import googleapiclient

    document = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "calendar.v3.json"
    resources = json.loads(document.read_text())["resources"]
    asked = scopes[use]
    assert CALENDAR not in asked
    for method in methods:
        resource, name = method.split(".")
        accepted = resources[resource]["methods"][name]["scopes"]
        assert set(asked) & set(accepted), f"{use}: {method} accepts none of {asked}"


def test_the_calendar_docs_tell_graph_admins_the_narrow_permissions() -> None:
    text = (REPO / "docs" / "calendars.md").read_text()
    assert "Calendars.ReadBasic" in text and "New-ApplicationAccessPolicy" in text
    assert "calendar.events.freebusy" in text
