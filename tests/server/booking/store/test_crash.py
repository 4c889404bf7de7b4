"""A process killed after the booking committed and before the email went out:
a new worker sends the invitation, exactly once, to a real SMTP server."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from server.booking.notify import SmtpMailer, SmtpSettings, email_handlers
from server.booking.store import OutboxWorker, TaskStatus, open_store
from tests.paths import REPO
from tests.server.booking.store.helpers import FakeClock, at


@pytest.mark.parametrize("moment", ["after-commit", "before-email"])
def test_the_email_goes_out_exactly_once_after_a_crash(store_url: str, smtp, moment: str) -> None:
    sink, port = smtp
    died = subprocess.run([sys.executable, "-m", "tests.server.booking.store.crash_worker", store_url, moment],
                          cwd=REPO, capture_output=True, timeout=60, check=False)
    assert died.returncode == -signal.SIGKILL, died.stderr.decode()
    booking_id = died.stdout.decode().strip()

    # A new worker, later than the dead worker's lease.
    later = FakeClock(datetime.now(UTC) + timedelta(minutes=6))
    store = open_store(store_url, clock=later)
    try:
        before = store.get(booking_id).side_effects["send_invite"]
        assert before.status is (TaskStatus.PENDING if moment == "after-commit" else TaskStatus.RUNNING)
        mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=port, starttls=False,
                                         sender="bookings@example.org", timeout=5))
        worker = OutboxWorker(store, email_handlers(mailer))

        assert worker.run_once() == 1
        later.advance(hours=2)
        assert worker.run_once() == 0
        OutboxWorker(store, email_handlers(mailer)).run_once()  # and yet another worker

        assert len(sink.received) == 1
        mail = sink.received[0]
        assert mail.rcpt_tos == ["carla@example.com"]
        method, calendar = mail.calendar()
        (event,) = calendar.walk("VEVENT")
        assert method == "REQUEST" and str(event["UID"]) == f"{booking_id}@convene"
        assert str(event["ORGANIZER"]) == "mailto:organizer@example.org"
        assert event.decoded("DTSTART") == at(0) and event.decoded("DTEND") == at(60)
        assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
        after = store.get(booking_id).side_effects["send_invite"]
        assert after.status is TaskStatus.DONE
        assert after.attempts == (1 if moment == "after-commit" else 2)
    finally:
        store.close()
