"""The matching path of ``assign`` against brute force and against the CP-SAT path.

The instances are raw assignment problems, as ``assign`` sees them: unit seats
whose candidates overlap (so the seats compete), runs of interchangeable units
(a pool seat of count q shares one array), candidates missing at some starts
(busy, or excluded by a rule), costs drawn from few values (ties everywhere) or
far apart (so the tie-break digits crowd int64 and the lexicographic passes
must take over). At every start the matching path must give exactly the
brute-force answer (minimum cost, then the smallest position vector), and the
CP-SAT path, the reference of the server's answers, must agree with it.

Profiles (tests/conftest.py): ``ci`` is derandomized; ``HYPOTHESIS_PROFILE=dev``
explores new examples, ``thorough`` ten times as many.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple
from unittest import mock

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st

import solver.assign
import solver.matching
from solver.assign import Assigned, Exact, SeatCosts, assign
from solver.seats import INFEASIBLE

# The loaded profile (tests/conftest.py) scales these: at least 300 for the brute-force comparison.
EXAMPLES = max(300, 3 * settings().max_examples)
QUICK = max(100, settings().max_examples)

# Far apart: the tie-break digits times these do not fit one int64 flow for many units.
SCALES = (1, 1000, 10**9, 10**13)


class Problem(NamedTuple):
    """Unit seats over ``n_resources`` resources at ``n_starts`` starts."""

    units: list[SeatCosts]
    n_starts: int

    def __repr__(self) -> str:
        lines = [f"{self.n_starts} starts"]
        for u, unit in enumerate(self.units):
            cost = np.where(unit.cost < INFEASIBLE, unit.cost, -1).tolist()
            lines.append(f"unit {u}: resources {unit.rows.tolist()} cost per candidate {cost} (-1: not free)")
        return "\n".join(lines)


@st.composite
def problems(draw: st.DrawFn, max_units: int = 5, max_resources: int = 7, max_starts: int = 4,
             steps: int = 3) -> Problem:
    wanted = draw(st.integers(2, max_units))
    # A few more resources than units, most of them wanted by several units: the seats compete.
    n_resources = min(max_resources, wanted + draw(st.integers(0, 3)))
    n_starts = draw(st.integers(1, max_starts))
    scale = draw(st.sampled_from(SCALES))
    units: list[SeatCosts] = []
    while len(units) < wanted:
        size = draw(st.integers(max(1, n_resources // 2), n_resources))
        rows = np.array(draw(st.permutations(range(n_resources)))[:size], dtype=np.int64)
        base = np.array(draw(st.lists(st.integers(0, steps), min_size=len(rows), max_size=len(rows))),
                        dtype=np.int64) * scale
        per_start = []
        for _ in range(n_starts):
            varying = draw(st.booleans())  # load-balanced costs change from start to start
            cost = base + (np.array(draw(st.lists(st.integers(0, 2), min_size=len(rows), max_size=len(rows))),
                                    dtype=np.int64) * scale if varying else 0)
            free = np.array(draw(st.lists(st.integers(0, 7), min_size=len(rows), max_size=len(rows)))) > 0
            per_start.append(np.where(free, cost, INFEASIBLE))
        seat = SeatCosts(rows, np.stack(per_start, axis=1))
        # A pool seat of count q: q units sharing one array, as the plan builds them.
        units.extend([seat] * draw(st.sampled_from([1, 1, 2, 3])))
    return Problem(units[:max_units], n_starts)


def brute_force(units: list[SeatCosts], s: int) -> tuple[int, tuple[int, ...]] | None:
    """(minimum cost, smallest position vector reaching it) at start ``s``, or None."""
    best: tuple[int, tuple[int, ...]] | None = None
    options = [np.flatnonzero(u.cost[:, s] < INFEASIBLE).tolist() for u in units]
    for combo in itertools.product(*options):  # lexicographic: the first minimum is the smallest
        rows = [int(u.rows[c]) for u, c in zip(units, combo, strict=True)]
        if len(set(rows)) < len(rows):
            continue
        cost = sum(int(u.cost[c, s]) for u, c in zip(units, combo, strict=True))
        if best is None or cost < best[0]:
            best = (cost, combo)
    return best


def check_against_brute_force(problem: Problem, got: Assigned) -> None:
    assert got.decided.all()
    for s in range(problem.n_starts):
        want = brute_force(problem.units, s)
        assert bool(got.feasible[s]) == (want is not None), f"start {s}: available {bool(got.feasible[s])}"
        if want is not None:
            assert tuple(got.choice[:, s].tolist()) == want[1], f"start {s}: positions (cost {want[0]})"
            assert int(got.total[s]) == want[0], f"start {s}: cost"


def same_answers(a: Assigned, b: Assigned) -> None:
    assert (a.feasible == b.feasible).all(), "availability differs"
    assert (a.choice == b.choice).all(), "assignments differ"
    assert (a.total == b.total).all(), "costs differ"


def _matching_solves() -> mock._patch[mock.MagicMock]:
    """A spy on the min-cost flow path, to report (and require) that it ran."""
    return mock.patch("solver.assign.cheapest_assignment", wraps=solver.matching.cheapest_assignment)


# --- Properties -------------------------------------------------------------------


@settings(max_examples=EXAMPLES)
@given(problems())
def test_the_matching_path_is_the_brute_force_answer(problem: Problem) -> None:
    with _matching_solves() as spy:
        got = assign(problem.units, problem.n_starts)
    event(f"min-cost flow solves: {min(spy.call_count, 3)}{'+' if spy.call_count >= 3 else ''}")
    check_against_brute_force(problem, got)


_units_that_fit = solver.matching._units_that_fit


def _one_unit_per_pass(counts: list[int], top: int, limit: int) -> int:
    return min(1, _units_that_fit(counts, top, limit))


@settings(max_examples=QUICK)
@given(problems(max_units=6, steps=1))
def test_lexicographic_passes_are_exact_when_one_flow_cannot_rank_every_unit(problem: Problem) -> None:
    """One unit ranked per flow (as when the digits of more would not fit int64), and costs of
    0 or 1 so that ties are everywhere: the answer comes from the passes that fix the leading
    units and re-solve the rest."""
    with mock.patch("solver.matching._units_that_fit", side_effect=_one_unit_per_pass), \
            mock.patch("solver.matching._pass", wraps=solver.matching._pass) as passes:
        got = assign(problem.units, problem.n_starts)
    event(f"flow passes: {min(passes.call_count, 4)}{'+' if passes.call_count >= 4 else ''}")
    check_against_brute_force(problem, got)


@settings(max_examples=QUICK)
@given(problems(max_units=8, max_resources=10, max_starts=3))
def test_the_matching_path_and_cp_sat_agree_at_every_start(problem: Problem) -> None:
    """Larger than brute force reaches: the reference CP-SAT path decides every start alike."""
    with _matching_solves() as spy:
        got = assign(problem.units, problem.n_starts)
    event("min-cost flow ran" if spy.called else "settled without a flow")
    same_answers(got, assign(problem.units, problem.n_starts, exact=Exact.CP_SAT))


# --- Fixed examples ------------------------------------------------------------------


def test_costs_too_wide_for_flows_go_to_cp_sat() -> None:
    """Unit 0's candidates lie 1.5 * 2^56 apart, and both may be optimal (units 1 and 2 need
    the cheap one's resource); their costs 0 and 1 leave no common divisor: no int64 flow cost
    holds that times the node count, so CP-SAT decides, and the answer is still exact."""
    far = 3 * 2**55
    wide = SeatCosts(np.array([0, 1], dtype=np.int64), np.array([[0], [far]], dtype=np.int64))
    first = SeatCosts(np.array([0, 2], dtype=np.int64), np.array([[0], [1]], dtype=np.int64))
    second = SeatCosts(np.array([2, 0], dtype=np.int64), np.array([[1], [0]], dtype=np.int64))
    problem = Problem([wide, first, second], 1)
    with _matching_solves() as flows, mock.patch("solver.assign._cp_sat", wraps=solver.assign._cp_sat) as cp_sat:
        got = assign(problem.units, 1)
    assert flows.called and cp_sat.called
    assert got.choice[:, 0].tolist() == [1, 0, 0] and int(got.total[0]) == far + 1
    check_against_brute_force(problem, got)


def test_a_pool_seat_takes_its_members_in_position_order() -> None:
    """Three interchangeable units and a member seat wanting the pool's cheapest member:
    the pool's members are reported in position order, whatever order the flow found."""
    pool = SeatCosts(np.array([0, 1, 2, 3], dtype=np.int64), np.array([[0], [0], [0], [0]], dtype=np.int64))
    member = SeatCosts(np.array([0, 4], dtype=np.int64), np.array([[0], [5]], dtype=np.int64))
    problem = Problem([pool, pool, pool, member], 1)
    with _matching_solves() as spy:
        got = assign(problem.units, 1)
    assert spy.called
    assert got.choice[:, 0].tolist() == [1, 2, 3, 0]
    check_against_brute_force(problem, got)
