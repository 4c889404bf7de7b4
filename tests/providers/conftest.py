from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.providers.loopback import LoopbackHttp
from tests.providers.radicale_server import Radicale


@pytest.fixture
def http_server() -> Iterator[LoopbackHttp]:
    server = LoopbackHttp()
    yield server
    server.close()


@pytest.fixture(scope="session")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    server = Radicale(tmp_path_factory.mktemp("radicale"))
    yield server
    server.stop()
