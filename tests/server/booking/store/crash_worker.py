"""A process that books and then dies (SIGKILL) before the invitation email goes out.

    python -m tests.server.booking.store.crash_worker STORE_URL after-commit|before-email

``after-commit``: dies right after the booking's transaction committed, before
any worker ran. ``before-email``: a worker has claimed the email task and dies
inside its handler, before sending anything (the claim's lease stays behind).
Prints the booking id first.
"""

from __future__ import annotations

import os
import signal
import sys

from server.booking.store import OutboxTask, OutboxWorker, open_store
from tests.server.booking.store.helpers import booking, member, room


def _die(task: OutboxTask | None = None) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main(url: str, moment: str) -> None:
    store = open_store(url)
    created = store.create("crash-1", "hash-1", booking(member("m1"), room("r1"))).booking
    print(created.id, flush=True)
    if moment == "after-commit":
        _die()
    OutboxWorker(store, {"send_invite": _die}).run_once()
    raise SystemExit("unreachable: the handler kills the process")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
