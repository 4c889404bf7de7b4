"""The layout is the architecture: rooms by capability, imports only downward.

    cli > api > batch > wire > booking > calendars > config > telemetry

A room may import anything below it and nothing above it. Proto messages
travel only through ``server/wire`` and ``server/api`` (and the ``cli``, a gRPC
client): the rooms below speak domain types. The pure core (``solver``) and
the calendar sources (``providers``) import nothing of the server.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.paths import REPO

ORDER = ("cli", "api", "batch", "wire", "booking", "calendars", "config", "telemetry")
RANK = {room: i for i, room in enumerate(ORDER)}
# server/ modules outside the rooms: tenants sits between booking and calendars.
TOP_LEVEL = {"__init__.py", "protogen.py", "tenants.py"}
RANK_OF_TOP = {"tenants": RANK["booking"] + 0.5}
PROTO_FREE = ("batch", "booking", "calendars", "config", "telemetry")


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, dotted module) of every import in a file, ``from a import b`` as ``a.b`` too."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def _rank(module: str) -> float | None:
    """The rank of a ``server.*`` module (lower is higher up), None outside the rooms."""
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "server":
        return None
    if parts[1] in RANK:
        return RANK[parts[1]]
    return RANK_OF_TOP.get(parts[1])


def upward_imports(root: Path) -> list[str]:
    """Every import in ``root/server`` of a room above the importing one."""
    found = []
    for path in sorted((root / "server").rglob("*.py")):
        own = _rank(".".join(path.relative_to(root).with_suffix("").parts))
        if own is None:
            continue
        seen: set[int] = set()
        for line, module in _imports(path):
            target = _rank(module)
            if target is not None and target < own and line not in seen:
                seen.add(line)
                found.append(f"{path.relative_to(root)}:{line} imports {module}")
    return found


def test_no_room_imports_a_room_above_it() -> None:
    assert upward_imports(REPO) == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    # The check itself must be able to fail: a booking module reaching up into the API and the wire,
    # and tenants (below booking) reaching into booking; downward imports pass.
    (tmp_path / "server" / "booking").mkdir(parents=True)
    (tmp_path / "server" / "booking" / "bad.py").write_text(
        "from server.api.errors import guarded\nimport server.wire.slots\nfrom server.calendars import busy\n")
    (tmp_path / "server" / "tenants.py").write_text("from server.booking.desk import BookingDesk\n")
    assert upward_imports(tmp_path) == ["server/booking/bad.py:1 imports server.api.errors",
                                        "server/booking/bad.py:2 imports server.wire.slots",
                                        "server/tenants.py:1 imports server.booking.desk"]


@pytest.mark.parametrize("room", PROTO_FREE)
def test_rooms_below_the_wire_speak_domain_types(room: str) -> None:
    offenders = [f"{path.relative_to(REPO)}:{line} imports {module}"
                 for path in sorted((REPO / "server" / room).rglob("*.py"))
                 for line, module in _imports(path) if module.startswith("convene")]
    assert offenders == []


def test_tenants_and_the_batch_commit_hold_no_proto() -> None:
    for path in (REPO / "server" / "tenants.py", REPO / "server" / "batch" / "commit.py"):
        assert not [m for _, m in _imports(path) if m.startswith("convene")], path


@pytest.mark.parametrize("package", ["solver", "providers"])
def test_the_core_and_the_sources_import_nothing_of_the_server(package: str) -> None:
    offenders = [f"{path.relative_to(REPO)}:{line} imports {module}"
                 for path in sorted((REPO / package).rglob("*.py"))
                 for line, module in _imports(path) if module.split(".")[0] in ("server", "convene")]
    assert offenders == []


def test_no_prefixed_modules_are_left() -> None:
    patterns = ["server/batch_*.py", "server/convert*.py", "server/*_config.py", "solver/batch_*.py"]
    assert [str(p) for pattern in patterns for p in REPO.glob(pattern)] == []
    assert {p.name for p in (REPO / "server").glob("*.py")} <= TOP_LEVEL


def test_every_room_says_what_it_owns() -> None:
    for init in sorted((REPO / "server").rglob("__init__.py")) + sorted((REPO / "solver").rglob("__init__.py")):
        docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert docstring and len(docstring) > 40, f"{init.relative_to(REPO)} has no docstring saying what it owns"
