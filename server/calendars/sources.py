"""Configured calendar sources -> (provider, calendar) pairs for ``ProviderCalendars``.

    sources = CalendarSources(timeout=10.0)
    provider, ref = sources.calendar("ada", member.calendar, "Europe/Berlin", default_owner="ada@example.org")

One provider serves every calendar of one *account*: (kind, server,
credentials). Calendars of one account thus share its connections and its
token, and ``providers.fetch`` batches them into one request where the
source allows (Google freebusy: 50 calendars, Graph getSchedule: 20,
EWS availability: 100). All ICS files and feeds share one reader.

Secrets are read here, once, from the files and environment variables the
config names (``server.config.calendars`` has already checked they exist).
They go into the providers and nowhere else: no error or log line built here
holds one.
"""

from __future__ import annotations

import os
import threading
import urllib.parse
from collections.abc import Callable, Hashable
from pathlib import Path

from providers.base import CalendarProvider, CalendarRef, ProviderError
from providers.ics import IcsProvider
from server.config import ConfigError
from server.config.calendars import (
    CalDavCalendar,
    CalendarSource,
    ExchangeCalendar,
    GoogleCalendar,
    GraphCalendar,
    IcsCalendar,
)

__all__ = ["CalendarSources"]


class CalendarSources:
    """Builds the provider and ``CalendarRef`` of each configured calendar, one provider per account.

    ``timeout`` bounds each HTTP request of every provider (seconds); the
    request's deadline still cuts a fetch short.
    """

    def __init__(self, timeout: float = 10.0) -> None:
        if timeout <= 0:
            raise ValueError("timeout: must be positive")
        self.timeout = timeout
        self._providers: dict[Hashable, CalendarProvider] = {}

    @property
    def providers(self) -> list[CalendarProvider]:
        """Every provider built so far (one per account)."""
        return list(self._providers.values())

    def calendar(self, resource_id: str, source: CalendarSource, time_zone: str,
                 default_owner: str = "", *, writable: bool = True) -> tuple[CalendarProvider, CalendarRef]:
        """The provider reading ``source`` and the calendar of ``resource_id`` on it.

        ``writable`` False (a room's calendar) makes it read only whatever ``source.write`` says.
        Raises ``ConfigError`` naming the resource and the field when a secret
        cannot be read or the provider refuses its settings.
        """
        owner = source.owner if source.owner is not None else default_owner
        write = writable and source.write
        try:
            provider, calendar_id, details = self._account(source, write)
        except ValueError as exc:  # provider constructors name the field; never a secret
            raise ConfigError(f"calendar of {resource_id!r}: {exc}") from None
        return provider, CalendarRef(resource_id, calendar_id, owner, time_zone, details_allowed=details,
                                     writable=write)

    def close(self) -> None:
        """Releases every provider's connections."""
        for provider in self._providers.values():
            provider.close()

    # --- one provider per account -------------------------------------------------

    def _account(self, source: CalendarSource, write: bool) -> tuple[CalendarProvider, str, bool]:
        """(provider, the source's calendar id, whether details may be read)."""
        if isinstance(source, IcsCalendar):
            return self._shared(("ics",), lambda: IcsProvider(timeout=self.timeout)), source.source, source.details
        if isinstance(source, CalDavCalendar):
            return self._caldav(source), source.url, not source.free_busy_only
        if isinstance(source, GoogleCalendar):
            return self._google(source, write), source.calendar_id, not source.free_busy_only
        if isinstance(source, GraphCalendar):
            return self._graph(source), source.calendar_id, not source.free_busy_only
        return self._exchange(source), source.email, not source.free_busy_only

    def _shared(self, key: Hashable, build: Callable[[], CalendarProvider]) -> CalendarProvider:
        provider = self._providers.get(key)
        if provider is None:
            provider = self._providers[key] = build()
        return provider

    def _caldav(self, source: CalDavCalendar) -> CalendarProvider:
        from providers.caldav_source import CalDavProvider  # loaded only for configs that use CalDAV

        parts = urllib.parse.urlsplit(source.url)
        server = f"{parts.scheme.lower()}://{parts.netloc.lower()}/"
        key = ("caldav", server, source.username, _secret_key(source.password_file, source.password_env),
               source.free_busy_only, source.server_expand)
        return self._shared(key, lambda: CalDavProvider(
            server, source.username, _secret(source.password_file, source.password_env, "password") or "",
            timeout=self.timeout, free_busy_only=source.free_busy_only, server_expand=source.server_expand))

    def _google(self, source: GoogleCalendar, write: bool) -> CalendarProvider:
        from providers.google import GoogleProvider, load_credentials, scopes_for  # heavy: only for Google users

        # One provider per account and scope set: each calendar's token asks for what its use needs.
        scopes = scopes_for(free_busy_only=source.free_busy_only, write=write)
        key = ("google", str(source.credentials_file), source.subject, source.endpoint, scopes)
        return self._shared(key, lambda: GoogleProvider(
            load_credentials(source.credentials_file, subject=source.subject, scopes=scopes), timeout=self.timeout,
            endpoint=source.endpoint))

    def _graph(self, source: GraphCalendar) -> CalendarProvider:
        from providers.graph import GRAPH_URL, GraphProvider

        base_url = source.base_url or GRAPH_URL
        if source.token_env is not None:
            key: Hashable = ("graph", base_url, "token_env", source.token_env)
        else:
            key = ("graph", base_url, source.authority_host, source.tenant_id, source.client_id,
                   _secret_key(source.client_secret_file, source.client_secret_env))

        def build() -> CalendarProvider:
            token: Callable[[], str]
            if source.token_env is not None:
                token = _env_token(source.token_env)
            else:
                secret = _secret(source.client_secret_file, source.client_secret_env, "client_secret")
                token = _LazyMsalToken(source.tenant_id, source.client_id, secret, source.authority_host)
            return GraphProvider(token, timeout=self.timeout, base_url=base_url)

        return self._shared(key, build)

    def _exchange(self, source: ExchangeCalendar) -> CalendarProvider:
        from providers.exchange import ExchangeProvider  # heavy: only for Exchange users

        key = ("exchange", source.url, source.username, _secret_key(source.password_file, source.password_env),
               source.auth_type, source.impersonation)
        return self._shared(key, lambda: ExchangeProvider(
            source.url, source.username, _secret(source.password_file, source.password_env, "password") or "",
            timeout=self.timeout, auth_type=source.auth_type, impersonation=source.impersonation))


def _secret_key(path: Path | None, env: str | None) -> tuple[str, str]:
    """Where a secret comes from: identifies the account without holding the secret."""
    return ("file", str(path)) if path is not None else ("env", env or "")


def _secret(path: Path | None, env: str | None, field: str) -> str | None:
    """The secret in ``path`` (its first line, without the line break) or in the variable ``env``."""
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"{field}_file: cannot read {path} ({exc.strerror or type(exc).__name__})") from None
        except UnicodeDecodeError:
            raise ValueError(f"{field}_file: {path} is not UTF-8 text") from None
        lines = text.splitlines()
        if not lines or not lines[0]:
            raise ValueError(f"{field}_file: the first line of {path} is empty")
        return lines[0]
    if env is not None:
        value = os.environ.get(env, "")
        if not value:
            raise ValueError(f"{field}_env: environment variable {env} is not set")
        return value
    return None


def _env_token(name: str) -> _EnvToken:
    if not os.environ.get(name):
        raise ValueError(f"token_env: environment variable {name} is not set")
    return _EnvToken(name)


class _EnvToken:
    """A Graph bearer token from an environment variable, read at each request (so a renewal is seen)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __call__(self) -> str:
        token = os.environ.get(self._name, "")
        if not token:
            raise ProviderError("", f"token_env: environment variable {self._name} is not set", transient=False)
        return token

    def __repr__(self) -> str:
        return f"_EnvToken({self._name!r})"


class _LazyMsalToken:
    """msal's client-credentials token source, set up at the first request.

    msal asks the identity platform about the authority when it is set up; at
    server start that would make an unreachable identity platform a crash,
    where at request time it is one unavailable calendar (and retried).
    """

    def __init__(self, tenant_id: str, client_id: str, client_secret: str | None, authority_host: str) -> None:
        self._args = (tenant_id, client_id, client_secret or "")
        self._authority_host = authority_host
        self._token: Callable[[], str] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            if self._token is None:
                from providers.graph import msal_token_provider

                extra = {"authority_host": self._authority_host} if self._authority_host else {}
                try:
                    self._token = msal_token_provider(*self._args, **extra)
                except ValueError:
                    raise ProviderError("", "token: the Microsoft identity platform authority was refused",
                                        transient=False) from None
                except Exception as exc:  # requests' errors hold URLs only; name the type alone
                    raise ProviderError("", f"token: cannot reach the Microsoft identity platform "
                                        f"({type(exc).__name__})") from None
            token = self._token
        return token()

    def __repr__(self) -> str:  # never the secret
        return f"_LazyMsalToken(tenant_id={self._args[0]!r}, client_id={self._args[1]!r})"
