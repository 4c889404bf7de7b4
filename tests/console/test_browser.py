"""The console in a real browser (Playwright driving Debian's chromium) against a real server:
the demo directory of examples/, its ICS calendars, a SQLite store, and an aiosmtpd server that
receives the invitations. Screenshots land in tests/artifacts/console/ (gitignored).

Skips with the reason where chromium (/usr/bin/chromium) or Playwright is missing; a browser is
never downloaded (``.ci/run`` installs Debian's chromium when it is missing).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from server.api.app import Running, start_server
from server.config import load_config
from tests.paths import EXAMPLES, REPO
from tests.server.booking.store.helpers import SmtpSink, start_smtp

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "tests" / "artifacts" / "console"
OPS_KEY = "acme-ops-3f9c2a7d41b8e605"  # sales operations: free/busy only
MARIA_KEY = "acme-maria-8d21c4f0e97b3a56"  # Maria: the details of her own calendar
NOW = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)
WEEK = "?template=technical-demo&week=2026-12-07&zone=America/New_York"
# Chromium as root in a closed network: no sandbox, no background connections.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


@dataclass
class Demo:
    running: Running
    sink: SmtpSink

    @property
    def url(self) -> str:
        assert self.running.http is not None
        return self.running.http.url


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("console")
    examples = Path(shutil.copytree(EXAMPLES, folder / "examples"))
    sink = SmtpSink()
    smtp = start_smtp(sink)
    data: dict[str, Any] = yaml.safe_load((examples / "convene.yaml").read_text())
    data["server"]["http_address"] = "127.0.0.1:0"
    data["database_url"] = f"sqlite:///{folder / 'bookings.sqlite3'}"
    data["smtp"] = {"host": "127.0.0.1", "port": int(smtp.port), "starttls": False,
                    "sender": "bookings@acme.example", "timeout_seconds": 5}
    data["outbox"] = {"poll_seconds": 0.1, "retry_base_seconds": 0.2, "retry_max_seconds": 1}
    (examples / "convene.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    running = start_server(load_config(examples / "convene.yaml"), "127.0.0.1:0", clock=lambda: NOW)
    try:
        yield Demo(running, sink)
    finally:
        running.stop(1)
        smtp.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's chromium is not at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        except sync_api.Error as exc:
            pytest.skip(f"chromium does not start here: {str(exc).splitlines()[0]}")
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # a fresh tab: an empty sessionStorage
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.set_default_timeout(15_000)
    yield tab
    context.close()
    assert errors == [], errors


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, url: str, api_key: str) -> None:
    page.goto(url)
    page.get_by_label("API key").fill(api_key)
    page.get_by_label("API key").press("Enter")
    page.get_by_text("Signed in.").wait_for()


def test_an_agent_finds_swaps_books_and_cancels(demo: Demo, page: Any) -> None:
    expect = sync_api.expect
    sign_in(page, demo.url + WEEK, OPS_KEY)
    assert page.get_by_label("Meeting", exact=True).input_value() == "technical-demo"
    page.get_by_role("button", name="Find times").click()
    expect(page.locator("#status")).to_contain_text("available starts this week")
    slots = page.locator("button.slot")
    assert slots.count() > 5
    shot(page, "1-week")

    # The first start whose sales-engineer seat has someone else free to swap in.
    engineer = page.get_by_label("sales engineer", exact=True)
    for i in range(slots.count()):
        slots.nth(i).click()
        page.get_by_text("Their day").wait_for()
        if engineer.locator("option").count() > 1:
            break
    else:
        pytest.fail("no start with two free sales engineers")
    before = engineer.input_value()
    other = next(v for v in engineer.locator("option").evaluate_all("os => os.map(o => o.value)") if v != before)
    engineer.select_option(other)
    swapped_name = engineer.locator("option:checked").inner_text()

    # Typing the customer's details holds the time meanwhile.
    page.get_by_label("Customer's name").fill("Carla Diaz")
    expect(page.locator("#hold-state")).to_contain_text("Held until")
    page.get_by_label("Customer's email").fill("carla@initech.example")
    shot(page, "2-chosen")
    page.get_by_role("button", name="Book", exact=True).click()
    booked = page.locator("#booked")
    expect(booked).to_contain_text("Booked")
    expect(booked).to_contain_text("invitation email: done (sent to 1)")
    expect(booked).to_contain_text("calendar event: done")
    shot(page, "3-booked")

    invitations = [r for r in demo.sink.received if "carla@initech.example" in r.rcpt_tos]
    assert len(invitations) == 1
    method, calendar = invitations[0].calendar()
    assert method == "REQUEST"
    assert "Technical demo" in str(calendar.walk("VEVENT")[0]["summary"])

    row = page.locator("table.bookings tbody tr", has_text="Carla Diaz")
    expect(row).to_contain_text(swapped_name)
    expect(row).to_contain_text("confirmed")
    cancel = row.get_by_role("button", name="Cancel")
    cancel.click()
    expect(cancel).to_have_text("Confirm cancel")
    cancel.click()
    expect(page.locator("#status")).to_contain_text("Cancelled")
    cancelled = page.locator("table.bookings tbody tr", has_text="Carla Diaz")
    expect(cancelled).to_contain_text("cancelled")
    expect(cancelled).to_contain_text("cancellation email: done (sent to 1)")
    shot(page, "4-cancelled")
    assert [r.calendar()[0] for r in demo.sink.received if "carla@initech.example" in r.rcpt_tos] == [
        "REQUEST", "CANCEL"]


@pytest.mark.parametrize(("api_key", "owner"), [(OPS_KEY, False), (MARIA_KEY, True)], ids=["ops", "maria"])
def test_what_is_in_the_way_shows_the_title_only_to_its_owner(demo: Demo, page: Any, api_key: str,
                                                              owner: bool) -> None:
    expect = sync_api.expect
    sign_in(page, demo.url + "?week=2026-12-07&zone=America/New_York", api_key)
    # Rules on the fly: Maria alone, one hour; the customer asks for Tue 8 Dec 11:00 New York.
    page.get_by_label("Meeting", exact=True).select_option("")
    page.get_by_text("Rules of this meeting").click()
    page.get_by_role("button", name="Add a seat").click()
    page.get_by_label("Candidates").fill("maria")
    page.get_by_label("Candidates").press("Tab")
    page.get_by_label("Check a day").fill("2026-12-08")
    page.get_by_label("at (customer's time)").fill("11:00")
    page.get_by_role("button", name="Check this time").click()
    in_the_way = page.locator("#chosen .conflicts")
    expect(in_the_way).to_contain_text("Maria Lopez")
    page.get_by_text("Their day").wait_for()
    shot(page, f"5-in-the-way-{'owner' if owner else 'ops'}")
    shown = in_the_way.inner_text() + page.locator("#day").inner_text()
    if owner:
        assert "Call with Initech (renewal)" in shown
    else:
        assert "Maria Lopez: busy 11:00" in shown
        assert "Initech" not in page.content()
    assert page.get_by_label("Schedule anyway (book although members are busy; rooms never double-book)").is_checked()


def test_keyboard_and_a_phone_width(demo: Demo, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(demo.url + WEEK)
        page.keyboard.type(OPS_KEY)  # the key field has the focus on load
        page.keyboard.press("Enter")
        page.get_by_text("Signed in.").wait_for()
        page.get_by_label("Customer's time zone").press("Enter")  # submits the meeting form
        first = page.locator("button.slot").first
        first.focus()
        page.keyboard.press("Enter")
        page.get_by_text("Their day").wait_for()
        assert page.evaluate("document.activeElement.id") == "chosen-heading"
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        for control in page.locator("input, select").all():
            if control.is_visible():
                assert control.evaluate("c => c.labels.length > 0 || !!c.closest('label')"), control.evaluate(
                    "c => c.outerHTML")
        shot(page, "6-phone")
    finally:
        context.close()


def test_a_conflicting_time_is_refused_then_booked_with_schedule_anyway(demo: Demo, page: Any) -> None:
    expect = sync_api.expect
    sign_in(page, demo.url + "?week=2026-12-07&zone=America/New_York", OPS_KEY)
    page.get_by_label("Meeting", exact=True).select_option("")
    page.get_by_text("Rules of this meeting").click()
    page.get_by_role("button", name="Add a seat").click()
    page.get_by_label("Candidates").fill("maria")
    page.get_by_label("Candidates").press("Tab")
    # Thu 10 Dec 15:00 New York: Maria has a tentative hold on her calendar.
    page.get_by_label("Check a day").fill("2026-12-10")
    page.get_by_label("at (customer's time)").fill("15:00")
    page.get_by_role("button", name="Check this time").click()
    expect(page.locator("#chosen .conflicts")).to_contain_text("Maria Lopez: tentative 15:00")
    anyway = page.get_by_label("Schedule anyway (book although members are busy; rooms never double-book)")
    anyway.uncheck()
    page.get_by_label("Customer's name").fill("Dora Initech")
    page.get_by_label("Customer's email").fill("dora@initech.example")
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.locator("#status")).to_contain_text("Not booked")
    expect(page.locator("#status")).to_contain_text("Maria Lopez: tentative 15:00")
    anyway.check()
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.locator("#booked")).to_contain_text("Booked")
    expect(page.locator("table.bookings tbody tr", has_text="Dora Initech")).to_contain_text("confirmed")
    shot(page, "7-scheduled-anyway")


def test_an_agent_moves_a_booking_to_another_start(demo: Demo, page: Any) -> None:
    """Book, then Move in the week's list, pick another start, Move here: the same booking at the
    new time, and the customer gets the same invitation again with a higher SEQUENCE."""
    expect = sync_api.expect
    sign_in(page, demo.url + WEEK, OPS_KEY)
    page.get_by_role("button", name="Find times").click()
    expect(page.locator("#status")).to_contain_text("available starts this week")
    slots = page.locator("button.slot")
    first, later = slots.nth(0), slots.nth(slots.count() - 1)
    new_label = later.get_attribute("aria-label")
    first.click()
    page.get_by_label("Customer's name").fill("Mo Mover")
    page.get_by_label("Customer's email").fill("mo@initech.example")
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.locator("#booked")).to_contain_text("invitation email: done (sent to 1)")

    row = page.locator("table.bookings tbody tr", has_text="Mo Mover")
    before = row.locator("td").first.inner_text()
    row.get_by_role("button", name="Move").click()
    expect(page.locator("#status")).to_contain_text("pick its new time")
    page.get_by_role("button", name=new_label, exact=True).click()
    expect(page.locator("#chosen-heading")).to_contain_text("Move")
    shot(page, "5-moving")
    page.get_by_role("button", name="Move here").click()
    booked = page.locator("#booked")
    expect(booked).to_contain_text("Moved")
    expect(booked).to_contain_text("update email: done (sent to 1)")
    expect(booked).to_contain_text("event update: done")
    moved = page.locator("table.bookings tbody tr", has_text="Mo Mover")
    expect(moved).to_have_count(1)  # the same booking, not a second one
    expect(moved.locator("td").first).not_to_have_text(before)  # once the list is refreshed
    shot(page, "6-moved")

    mails = [r.calendar() for r in demo.sink.received if "mo@initech.example" in r.rcpt_tos]
    assert [m for m, _ in mails] == ["REQUEST", "REQUEST"]
    (first_event,), (second_event,) = (c.walk("VEVENT") for _, c in mails)
    assert str(first_event["uid"]) == str(second_event["uid"])
    assert int(second_event["sequence"]) > int(first_event.get("sequence", 0))
    assert second_event.decoded("dtstart") != first_event.decoded("dtstart")
