"""The ``calendar:`` of a member or room in the YAML config: which source, and how to reach it.

    calendar: {kind: ics, path: calendars/ada.ics}                    # a file or a folder of .ics
    calendar: {kind: ics, url: https://example.org/ada.ics}           # a feed (read-only)
    calendar: {kind: caldav, url: https://dav.example.org/ada/work/, username: ada,
               password_file: secrets/ada-dav.txt}                    # or password_env: ADA_DAV_PASSWORD
    calendar: {kind: google, calendar_id: ada@example.org, credentials_file: secrets/google.json,
               free_busy_only: true}
    calendar: {kind: graph, mailbox: ada@contoso.com, tenant_id: ..., client_id: ...,
               client_secret_file: secrets/graph.txt}                 # or client_secret_env / token_env
    calendar: {kind: exchange, url: https://mail.example.org/EWS/Exchange.asmx, email: ada@example.org,
               username: svc-convene, password_env: EWS_PASSWORD}

Every kind takes ``write: false`` for a calendar Convene only reads (see
``_Source``). Secrets never sit in the config itself: a ``*_file`` names a file holding
one (relative paths are resolved against the config's directory), a
``*_env`` an environment variable. Both are checked here, at start, so a
missing file or variable fails with the field named; their contents are read
only by ``server.calendars.sources`` and never appear in an error, a log or a reply.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from server.config.extras import require_extra

__all__ = [
    "CalDavCalendar",
    "CalendarSource",
    "ExchangeCalendar",
    "GoogleCalendar",
    "GraphCalendar",
    "IcsCalendar",
]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ICLOUD_HOSTS = ("icloud.com", "me.com")


def _config_path(path: Path, info: ValidationInfo) -> Path:
    """``path`` resolved against the config file's directory (``base_dir`` in the validation context)."""
    base = (info.context or {}).get("base_dir")
    return path if path.is_absolute() or base is None else Path(base) / path


def _secret_file(path: Path | None, info: ValidationInfo) -> Path | None:
    """A file a secret is read from: it must exist and be readable now (named in the error; never read here)."""
    if path is None:
        return None
    path = _config_path(path, info)
    if not path.is_file():
        raise ValueError(f"cannot read {path} (no such file)")
    if not os.access(path, os.R_OK):
        raise ValueError(f"cannot read {path} (permission denied)")
    if path.stat().st_size == 0:
        raise ValueError(f"{path} is empty")
    return path


def _secret_env(name: str | None) -> str | None:
    """An environment variable a secret is read from: it must be set (its value is never shown)."""
    if name is None:
        return None
    if not _ENV_NAME.match(name):
        raise ValueError(f"{name!r} is not an environment variable name")
    if not os.environ.get(name):
        raise ValueError(f"environment variable {name} is not set")
    return name


def _http_url(url: str, *, schemes: tuple[str, ...] = ("http", "https")) -> str:
    """Checks a URL without echoing it (feed URLs carry secret tokens)."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValueError("not a valid URL") from None
    if parts.scheme.lower() not in schemes or not parts.hostname:
        names = [f"{s}://" for s in schemes]
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
        raise ValueError(f"must be an {listed} URL with a host")
    return url.strip()


def _one_of(model: BaseModel, *fields: str, required: bool = True) -> None:
    given = [f for f in fields if getattr(model, f) is not None]
    if len(given) > 1 or (required and not given):
        raise ValueError(f"give exactly one of {', '.join(fields)}")


class _Source(BaseModel):
    """What every calendar source has."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Keys a user might write a secret under: refused with a pointer to the right field.
    _inline_secrets: ClassVar[tuple[tuple[str, str], ...]] = ()
    # The pip extra this kind's provider needs (server.config.extras), None: always installed.
    _extra: ClassVar[str | None] = None

    # The principal who owns the calendar (sees its event details in conflicts).
    # Default: the member's email; rooms have no owner unless one is named.
    owner: str | None = None
    # Whether the engine puts the bookings this member organizes on this calendar (rooms'
    # calendars are never written). False: read only; the booking's event is skipped, and a
    # Google calendar asks for read scopes only (docs/calendars.md, least privilege).
    write: bool = True

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secrets(cls, data: Any) -> Any:
        if cls._extra is not None:
            require_extra(cls._extra, f"calendar kind {cls.__name__.removesuffix('Calendar').lower()}")
        if isinstance(data, dict):
            for key, instead in cls._inline_secrets:
                if key in data:
                    raise ValueError(f"{key}: secrets are not written in the config; use {instead}")
        return data


class IcsCalendar(_Source):
    """An iCalendar file, a folder of .ics files (``path``), or a feed (``url``), read by providers.ics."""

    kind: Literal["ics"]
    path: Path | None = None
    url: str | None = None
    # False: treat the source as free/busy only, whatever it could give.
    details: bool = True

    @field_validator("path")
    @classmethod
    def _relative_to_config(cls, path: Path | None, info: ValidationInfo) -> Path | None:
        return None if path is None else _config_path(path, info)

    @field_validator("url")
    @classmethod
    def _feed_url(cls, url: str | None) -> str | None:
        return None if url is None else _http_url(url, schemes=("http", "https", "webcal"))

    @model_validator(mode="after")
    def _path_or_url(self) -> IcsCalendar:
        _one_of(self, "path", "url")
        return self

    @property
    def source(self) -> str:
        """What providers.ics reads: the path or the URL."""
        return self.url if self.url is not None else str(self.path)


class CalDavCalendar(_Source):
    """A calendar collection on a CalDAV server (Nextcloud, Radicale, Fastmail, iCloud, ...).

    ``url`` is the calendar's own URL. An account (server, username, password)
    is one connection, shared by every calendar configured with it.
    """

    _inline_secrets: ClassVar[tuple[tuple[str, str], ...]] = (("password", "password_file or password_env"),)
    _extra: ClassVar[str | None] = "caldav"

    kind: Literal["caldav"]
    url: str
    username: str = ""
    password_file: Path | None = None
    password_env: str | None = None
    # The account may see free/busy only: ask with free-busy-query (no details).
    free_busy_only: bool = False
    # Let the server expand recurrences (see providers.caldav_source for why it is off).
    server_expand: bool = False

    @field_validator("url")
    @classmethod
    def _calendar_url(cls, url: str) -> str:
        url = _http_url(url)
        if urllib.parse.urlsplit(url).username is not None:
            raise ValueError("put the account in username and password_file/password_env, not in the URL")
        return url

    @field_validator("password_file")
    @classmethod
    def _password_file(cls, path: Path | None, info: ValidationInfo) -> Path | None:
        return _secret_file(path, info)

    @field_validator("password_env")
    @classmethod
    def _password_env(cls, name: str | None) -> str | None:
        return _secret_env(name)

    @model_validator(mode="after")
    def _account(self) -> CalDavCalendar:
        if self.username:
            _one_of(self, "password_file", "password_env")
        elif self.password_file is not None or self.password_env is not None:
            raise ValueError("username: required with a password")
        host = (urllib.parse.urlsplit(self.url).hostname or "").lower()
        if self.free_busy_only and any(host == h or host.endswith("." + h) for h in _ICLOUD_HOSTS):
            raise ValueError("free_busy_only: iCloud does not share free/busy with other accounts; share the "
                             "calendar itself (read access) and set free_busy_only to false")
        return self


class GoogleCalendar(_Source):
    """A Google calendar, through a service-account key or an OAuth authorized-user file.

    ``subject``: the user a service account acts as (domain-wide delegation).
    ``free_busy_only``: read with freebusy.query (no details; 50 calendars per request).
    """

    _inline_secrets: ClassVar[tuple[tuple[str, str], ...]] = (
        ("private_key", "credentials_file"), ("client_secret", "credentials_file"), ("token", "credentials_file"))
    _extra: ClassVar[str | None] = "google"

    kind: Literal["google"]
    calendar_id: str = Field(min_length=1)
    credentials_file: Path
    subject: str = ""
    free_busy_only: bool = False
    # The API's base URL, for a proxy or a test server; empty: Google's own.
    endpoint: str = ""

    @field_validator("credentials_file")
    @classmethod
    def _credentials(cls, path: Path, info: ValidationInfo) -> Path:
        checked = _secret_file(path, info)
        assert checked is not None
        from providers.google import load_credentials  # heavy: loaded only for configs that use Google

        message = ""
        try:
            load_credentials(checked)
        except ValueError as exc:  # names the file, never its contents
            message = str(exc).removeprefix("credentials_file: ")
        if message:
            raise ValueError(message)
        return checked

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, url: str) -> str:
        return url and _http_url(url)


class GraphCalendar(_Source):
    """A Microsoft 365 mailbox's calendar through Microsoft Graph.

    Tokens come from an app registration (``tenant_id``, ``client_id`` and a
    client secret in ``client_secret_file`` / ``client_secret_env``), or, for
    short-lived setups and tests, a bearer token in ``token_env``.
    ``calendar``: a calendar id of the mailbox other than its default one.
    ``free_busy_only``: read with getSchedule (no details; 20 mailboxes per request).
    """

    _inline_secrets: ClassVar[tuple[tuple[str, str], ...]] = (
        ("client_secret", "client_secret_file or client_secret_env"), ("token", "token_env"))
    _extra: ClassVar[str | None] = "microsoft"

    kind: Literal["graph"]
    mailbox: str = Field(min_length=1)
    calendar: str = ""
    tenant_id: str = ""
    client_id: str = ""
    client_secret_file: Path | None = None
    client_secret_env: str | None = None
    token_env: str | None = None
    free_busy_only: bool = False
    # Graph's base URL and the identity platform's host (national clouds, tests); empty: the global ones.
    base_url: str = ""
    authority_host: str = ""

    @field_validator("client_secret_file")
    @classmethod
    def _secret_file(cls, path: Path | None, info: ValidationInfo) -> Path | None:
        return _secret_file(path, info)

    @field_validator("client_secret_env", "token_env")
    @classmethod
    def _env(cls, name: str | None) -> str | None:
        return _secret_env(name)

    @field_validator("base_url", "authority_host")
    @classmethod
    def _urls(cls, url: str) -> str:
        return url and _http_url(url)

    @model_validator(mode="after")
    def _app(self) -> GraphCalendar:
        _one_of(self, "client_secret_file", "client_secret_env", "token_env")
        if self.token_env is None:
            missing = [f for f in ("tenant_id", "client_id") if not getattr(self, f)]
            if missing:
                raise ValueError(f"{', '.join(missing)}: required with a client secret")
        if self.calendar and self.free_busy_only:
            raise ValueError("calendar: free/busy (getSchedule) covers only the mailbox's default calendar; "
                             "leave calendar empty or set free_busy_only to false")
        return self

    @property
    def calendar_id(self) -> str:
        """providers.graph's calendar id: the mailbox, or ``mailbox/calendar``."""
        return f"{self.mailbox}/{self.calendar}" if self.calendar else self.mailbox


class ExchangeCalendar(_Source):
    """A mailbox's calendar on an on-premises Exchange server, through EWS.

    ``url`` is the EWS endpoint; ``username`` and the password are the service
    account's (delegate access, or ``impersonation``). ``free_busy_only``: read
    with GetUserAvailability (no details; 100 mailboxes per request).
    """

    _inline_secrets: ClassVar[tuple[tuple[str, str], ...]] = (("password", "password_file or password_env"),)
    _extra: ClassVar[str | None] = "exchange"

    kind: Literal["exchange"]
    url: str
    email: str = Field(min_length=1)
    username: str = Field(min_length=1)
    password_file: Path | None = None
    password_env: str | None = None
    auth_type: Literal["ntlm", "basic"] = "ntlm"
    impersonation: bool = False
    free_busy_only: bool = False

    @field_validator("url")
    @classmethod
    def _ews_url(cls, url: str) -> str:
        return _http_url(url)

    @field_validator("password_file")
    @classmethod
    def _password_file(cls, path: Path | None, info: ValidationInfo) -> Path | None:
        return _secret_file(path, info)

    @field_validator("password_env")
    @classmethod
    def _password_env(cls, name: str | None) -> str | None:
        return _secret_env(name)

    @model_validator(mode="after")
    def _password(self) -> ExchangeCalendar:
        _one_of(self, "password_file", "password_env")
        return self


CalendarSource = Annotated[
    IcsCalendar | CalDavCalendar | GoogleCalendar | GraphCalendar | ExchangeCalendar,
    Field(discriminator="kind"),
]
