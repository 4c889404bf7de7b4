"""Convene's optional parts (pip extras) and whether this installation has them.

    pip install convene                      # ICS calendars, SQLite / PostgreSQL, the gRPC server
    pip install 'convene[google,microsoft]'  # + Google Calendar, Microsoft Graph

A config that needs a part that is not installed fails at start (and in
``convene check-config``) with the extra named, instead of an ImportError at
the first request:

    extra    needed for                                 modules it brings
    caldav   calendar kind caldav                       caldav
    google   calendar kind google                       googleapiclient, google.oauth2, google_auth_httplib2
    microsoft calendar kind graph                       msal, requests
    exchange calendar kind exchange                     exchangelib, requests
    dask     batch.schedulers (OptimizeBatch on Dask)   dask.distributed
    plots    ``convene tune``'s PNG plots               matplotlib
"""

from __future__ import annotations

import importlib.util

__all__ = ["EXTRAS", "MissingExtra", "missing_modules", "require_extra"]

EXTRAS: dict[str, tuple[str, ...]] = {
    "caldav": ("caldav",),
    "google": ("googleapiclient", "google.oauth2", "google_auth_httplib2", "httplib2"),
    "microsoft": ("msal", "requests"),
    "exchange": ("exchangelib", "requests"),
    "dask": ("dask.distributed",),
    "plots": ("matplotlib",),
}


class MissingExtra(ValueError):
    """A config (or command) needs an optional part this installation lacks; the message names the extra.

    A ValueError, so that inside a config model it becomes a field error naming where it is needed.
    """


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here (none: the extra is installed)."""
    missing = []
    for module in EXTRAS[extra]:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a parent package is missing, or a broken install
            found = False
        if not found:
            missing.append(module)
    return missing


def require_extra(extra: str, needed_for: str) -> None:
    """Raises ``MissingExtra`` naming ``extra`` when it is not installed."""
    missing = missing_modules(extra)
    if missing:
        raise MissingExtra(f"{needed_for} needs Convene's [{extra}] extra, which is not installed "
                           f"(no {', '.join(missing)}): pip install 'convene[{extra}]'")
