"""``providers.zones``: a zone name resolves by the rules of "Who is free", or not at all."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from providers.zones import WINDOWS_ZONES_VERSION, UnknownZone, iana_zone, known_zone, resolve_zone

CUSTOM = dt.timezone(dt.timedelta(hours=5), "custom")


@pytest.mark.parametrize(("name", "key"), [
    ("Europe/Berlin", "Europe/Berlin"),
    ("US/Eastern", "US/Eastern"),                          # an IANA link is an IANA name
    ("W. Europe Standard Time", "Europe/Berlin"),          # Windows, through CLDR
    ("Eastern Standard Time", "America/New_York"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("europe/berlin", "Europe/Berlin"),                    # unique ignoring case
    ("  America/New_York ", "America/New_York"),
    ("w. europe standard time", "Europe/Berlin"),
])
def test_names_resolve_to_their_iana_zone(name: str, key: str):
    zone = iana_zone(name)
    assert isinstance(zone, ZoneInfo) and zone.key == key


@pytest.mark.parametrize("name", [
    "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna", "Garbage/Zone", "", "Europe/Berlinn",
    "/freeassociation.sourceforge.net/Europe/Berlin", "localtime", "posixrules", "Customized Time Zone",
])
def test_other_names_are_unknown_and_named(name: str):
    with pytest.raises(UnknownZone) as error:
        resolve_zone(name)
    assert error.value.name == name and repr(name) in str(error.value)


def test_a_name_that_matches_two_zones_ignoring_case_is_unknown():
    # "utc" is the IANA "UTC" and, folded, the Windows "UTC" (CLDR: Etc/UTC): two zones.
    with pytest.raises(UnknownZone, match="matches 2 zones when case is ignored"):
        resolve_zone("utc")
    assert known_zone("UTC") == ZoneInfo("UTC")


def test_the_calendars_own_vtimezone_resolves_names_no_database_knows():
    assert resolve_zone("Customized Time Zone", {"Customized Time Zone": CUSTOM}) is CUSTOM
    assert resolve_zone("customized time zone", {"Customized Time Zone": CUSTOM}) is CUSTOM
    # a known name wins over a VTIMEZONE of that name (servers damage those copies)
    assert resolve_zone("Europe/Berlin", {"Europe/Berlin": CUSTOM}) == ZoneInfo("Europe/Berlin")


def test_every_windows_name_of_cldr_resolves():
    assert WINDOWS_ZONES_VERSION and len(WINDOWS_TO_OLSON) > 130
    for windows, key in WINDOWS_TO_OLSON.items():
        assert iana_zone(windows).key in (key, windows)  # "UTC" is an IANA name too


def test_long_names_are_cut_in_messages():
    with pytest.raises(UnknownZone) as error:
        resolve_zone("x" * 5000)
    assert len(str(error.value)) < 250
