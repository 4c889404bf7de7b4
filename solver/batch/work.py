"""The work budget of the deterministic mode (``BatchRequest.work_limit``).

A part's work limit is spent phase by phase (solver.batch.optimize): the small
repairs, the LP bound and its dive, then CP-SAT. Each phase gets a
``WorkBudget`` carved from what is left and charges what it did:

- CP-SAT (the repairs and the final model): its deterministic time, as the
  solver reports it;
- the LP (solver.batch.lp): an estimate from counts alone (simplex
  iterations times the size of the master, cells priced, columns added),
  never from the clock.

Both are deterministic, so every phase stops at the same point on any host at
any load, and the schedule and bound follow.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WorkBudget"]


@dataclass
class WorkBudget:
    """``limit`` units of work; ``spent`` so far (it may pass the limit by the last step).
    What a budget made by ``share`` spends is charged to its parent too."""

    limit: float
    spent: float = 0.0
    parent: WorkBudget | None = None

    @property
    def left(self) -> float:
        return max(0.0, self.limit - self.spent)

    def charge(self, amount: float) -> None:
        self.spent += amount
        if self.parent is not None:
            self.parent.charge(amount)

    def share(self, fraction: float) -> WorkBudget:
        """A budget of ``fraction`` of what is left, charged to this one as it is spent."""
        return WorkBudget(self.left * fraction, parent=self)
