"""A real Dask cluster for tests: a scheduler and workers as separate processes (the
``dask`` command of this environment), on loopback ports.

    with DaskCluster(workers=2) as cluster:
        run_batch(..., scheduler=cluster.address)
        cluster.kill_worker(0)

Workers run without a nanny, so a killed worker stays dead (as a lost machine would).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from dask.distributed import Client

from tests.server.booking.store.helpers import free_port

ROOT = Path(__file__).resolve().parents[3]
_DASK = str(Path(sys.executable).with_name("dask"))


class DaskCluster:
    def __init__(self, workers: int) -> None:
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self._workers = workers
        self._scheduler: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.worker_addresses: list[str] = []
        env = dict(os.environ, PYTHONPATH=str(ROOT), DASK_DISTRIBUTED__WORKER__DAEMON="False")
        self._env = env

    def _start(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([_DASK, *args], cwd=ROOT, env=self._env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    def __enter__(self) -> DaskCluster:
        self._scheduler = self._start("scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                                      "--no-dashboard")
        for _ in range(self._workers):
            port = free_port()
            self.worker_addresses.append(f"tcp://127.0.0.1:{port}")
            self.workers.append(self._start("worker", self.address, "--nthreads", "1", "--no-nanny",
                                            "--no-dashboard", "--host", "127.0.0.1", "--worker-port", str(port)))
        with Client(self.address, timeout=30) as client:  # type: ignore[no-untyped-call]
            if self._workers:
                client.wait_for_workers(self._workers, timeout=60)
        return self

    def busy_workers(self, client: Client) -> list[int]:
        """The workers (by index) with at least one task assigned."""
        processing = client.processing()
        return [n for n, address in enumerate(self.worker_addresses) if processing.get(address)]

    def kill_worker(self, n: int) -> None:
        self.workers[n].send_signal(signal.SIGKILL)
        self.workers[n].wait(10)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for proc in [*self.workers, self._scheduler]:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)


def wait_until(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.05)
    return False
