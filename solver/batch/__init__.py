"""Batch optimization: many booking requests over one directory, solved together.

    from solver.batch import BatchItem, BatchRequest, optimize_batch
    result = optimize_batch(directory, busy, bookings, BatchRequest(items))

``optimize`` holds the flow (validate -> split -> prepare -> greedy -> repair
-> LP bound and dive -> CP-SAT -> result); the other modules are its steps:
``types`` (the plain data in and out), ``validate``, ``decompose`` (independent
parts), ``prepare`` (per-item plans), ``board`` (greedy placement), ``repair``,
``rows`` and ``lp`` (the time-indexed LP), ``cpsat``, ``objective`` and
``result``. No I/O; the server runs the parts on a pool or a cluster.
"""

from solver.batch.optimize import (
    BatchItem,
    BatchKpis,
    BatchLimits,
    BatchProgress,
    BatchRequest,
    BatchResult,
    BatchStatus,
    IncompletePart,
    PreparedPart,
    ScheduledItem,
    Score,
    Unscheduled,
    UnscheduledReason,
    UnscheduledRule,
    merge_results,
    optimize_batch,
    prepare_part,
    solve_part,
    solve_prepared,
    split_batch,
    unsolved_part,
    validate_batch,
)
from solver.batch.types import Current

__all__ = [
    "BatchItem",
    "BatchKpis",
    "BatchLimits",
    "BatchProgress",
    "BatchRequest",
    "BatchResult",
    "BatchStatus",
    "Current",
    "IncompletePart",
    "PreparedPart",
    "ScheduledItem",
    "Score",
    "Unscheduled",
    "UnscheduledReason",
    "UnscheduledRule",
    "merge_results",
    "optimize_batch",
    "prepare_part",
    "solve_part",
    "solve_prepared",
    "split_batch",
    "unsolved_part",
    "validate_batch",
]
