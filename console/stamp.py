"""The console's build stamp: which sources ``dist/`` was built from.

    python console/stamp.py           # after a build: writes dist/SOURCES.sha256
    python console/stamp.py --check   # exit 1 when dist/ is older than its sources

The digest covers everything the bundle is made of: the console's own files
(package.json, the lock file, index.html, the configs, src/ with the code
generated from proto/) and proto/ itself. ``tests/console/test_bundle.py``
checks it, so a change to the console or the API without ``make console`` fails
the suite on any machine, node or not.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

CONSOLE = Path(__file__).resolve().parent
REPO = CONSOLE.parent
STAMP = CONSOLE / "dist" / "SOURCES.sha256"
_FILES = ("package.json", "package-lock.json", "index.html", "tsconfig.json", "vite.config.ts", "buf.gen.yaml")


def sources() -> list[Path]:
    """Every file the bundle is built from, in a fixed order."""
    found = [CONSOLE / name for name in _FILES]
    found += sorted(p for p in (CONSOLE / "src").rglob("*") if p.is_file())
    found += sorted((REPO / "proto").rglob("*.proto"))
    return found


def digest() -> str:
    total = hashlib.sha256()
    for path in sources():
        total.update(path.relative_to(REPO).as_posix().encode() + b"\0")
        total.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return total.hexdigest()


def main(argv: list[str]) -> int:
    if "--check" in argv:
        recorded = STAMP.read_text().strip() if STAMP.is_file() else "(none)"
        if recorded != digest():
            print(f"console/dist is stale (built from {recorded}, sources are {digest()}): run make console")
            return 1
        return 0
    STAMP.write_text(digest() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
