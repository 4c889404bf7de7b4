"""``convene serve`` that kills itself (SIGKILL) during a re-optimizing batch's commit.

    python -m tests.server.batch.dying_serve in-transaction|after-commit serve --config ... --database ...

``in-transaction``: inside the commit's one store transaction, after the moves were made and
the first new booking inserted, before anything is committed. ``after-commit``: right after
the transaction committed, before the reply (and before any side effect ran). Only a
``create_all`` that moves bookings dies; everything else is the real server.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from server.booking.store import CreateEntry, CreateResult, MoveEntry
from server.booking.store.sql import SqlBookingStore, Tx
from server.cli.commands import main


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _arm(moment: str) -> None:
    book, create = SqlBookingStore._book, SqlBookingStore._create
    moving = [False]

    def _book(self: SqlBookingStore, entries: Sequence[CreateEntry],
              moves: Sequence[MoveEntry] = ()) -> list[CreateResult]:
        moving[0] = bool(moves)
        results = book(self, entries, moves)
        if moves and moment == "after-commit":
            _die()
        return results

    def _create(self: SqlBookingStore, tx: Tx, entry: CreateEntry) -> Any:
        result = create(self, tx, entry)
        if moving[0] and moment == "in-transaction":
            _die()
        return result

    SqlBookingStore._book = _book  # type: ignore[method-assign]
    SqlBookingStore._create = _create  # type: ignore[method-assign]


if __name__ == "__main__":
    _arm(sys.argv[1])
    sys.exit(main(sys.argv[2:]))
