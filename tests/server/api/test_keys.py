"""ApiKeys on its own: which key or certificate names which caller, and what each refusal says.

The real-server tests (test_auth.py, test_tls.py) show the status codes on the wire; these pin
the rules themselves, fast enough to run per mutant (``make mutate``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import pytest

from server.api.auth import ApiKeys, Caller, Unauthenticated, peer_of
from server.config import ApiKeyConfig
from server.config.server import ClientCertificateConfig

PLAIN = "plain-key-0123456789"
HASHED = "hashed-key-0123456789"


def keys() -> ApiKeys:
    # Built per test, not at import: mutation testing swaps the code in after the import.
    return ApiKeys(
        [ApiKeyConfig(key=PLAIN, tenant="acme", principal="ann@acme.example"),
         ApiKeyConfig(key_sha256=hashlib.sha256(HASHED.encode()).hexdigest(), tenant="globex",
                      principal="bob@globex.example")],
        [ClientCertificateConfig(name="booker.acme.internal", tenant="acme", principal="booker@acme.example")],
    )


SAN = "x509_subject_alternative_name"
CN = "x509_common_name"


def bearer(value: str | bytes) -> list[tuple[str, str | bytes]]:
    return [("authorization", value)]


def test_a_plain_and_a_hashed_key_name_their_callers() -> None:
    assert keys().authenticate(bearer(f"Bearer {PLAIN}")) == Caller("acme", "ann@acme.example")
    assert keys().authenticate(bearer(f"Bearer {HASHED}")) == Caller("globex", "bob@globex.example")


def test_the_header_as_bytes_any_case_and_spacing() -> None:
    assert keys().authenticate(bearer(f"bearer {PLAIN}".encode())) == Caller("acme", "ann@acme.example")
    assert keys().authenticate([("Authorization", f"  Bearer   {PLAIN}  ")]).tenant == "acme"


def test_the_first_authorization_value_counts() -> None:
    assert keys().authenticate([*bearer(f"Bearer {PLAIN}"), *bearer(f"Bearer {HASHED}")]).tenant == "acme"
    with pytest.raises(Unauthenticated):
        keys().authenticate([*bearer("Bearer nope-nope-nope-nope"), *bearer(f"Bearer {PLAIN}")])


@pytest.mark.parametrize(("metadata", "message"), [
    ([], "missing 'authorization: Bearer <api key>' metadata"),
    ([("x-api-key", PLAIN)], "missing 'authorization: Bearer <api key>' metadata"),
    (bearer(f"Basic {PLAIN}"), "authorization metadata must be 'Bearer <api key>'"),
    (bearer(PLAIN), "authorization metadata must be 'Bearer <api key>'"),
    (bearer("Bearer "), "authorization metadata must be 'Bearer <api key>'"),
    (bearer("Bearer unknown-key-0123456789"), "unknown API key"),
    # The digest is what is stored: presenting the digest itself is no key.
    (bearer(f"Bearer {hashlib.sha256(HASHED.encode()).hexdigest()}"), "unknown API key"),
    (bearer("Bearer "  + hashlib.sha256(b"").hexdigest()), "unknown API key"),
])
def test_each_refusal_says_what_is_wrong(metadata: list[tuple[str, str | bytes]], message: str) -> None:
    with pytest.raises(Unauthenticated) as refused:
        keys().authenticate(metadata)
    assert str(refused.value) == message


@pytest.mark.parametrize("prop", [SAN, CN])
def test_a_mapped_certificate_names_its_caller(prop: str) -> None:
    # A name that is not UTF-8 is just no match (certificates may carry any bytes).
    peer: Mapping[str, Sequence[bytes]] = {prop: [b"\xffbad", b"other.example", b"booker.acme.internal"]}
    assert keys().authenticate([], peer) == Caller("acme", "booker@acme.example")


def test_an_unmapped_certificate_or_none_is_refused() -> None:
    for peer in ({SAN: [b"stranger.example"]}, {}, None):
        with pytest.raises(Unauthenticated, match="missing"):
            keys().authenticate([], peer)
    with pytest.raises(Unauthenticated):
        ApiKeys([ApiKeyConfig(key=PLAIN, tenant="acme", principal="ann")]).authenticate(
            [], {SAN: [b"booker.acme.internal"]})


def test_a_call_with_a_key_is_judged_by_the_key_alone() -> None:
    peer = {SAN: [b"booker.acme.internal"]}
    assert keys().authenticate(bearer(f"Bearer {HASHED}"), peer).tenant == "globex"
    with pytest.raises(Unauthenticated, match="unknown API key"):
        keys().authenticate(bearer("Bearer unknown-key-0123456789"), peer)


def test_peer_of_reads_grpcs_auth_context_and_nothing_else() -> None:
    class GrpcContext:
        def auth_context(self) -> Mapping[str, Sequence[bytes]]:
            return {SAN: [b"booker.acme.internal"]}

    class HttpContext:
        auth_context = None

    assert peer_of(GrpcContext()) == {SAN: [b"booker.acme.internal"]}
    assert peer_of(HttpContext()) is None
    assert peer_of(object()) is None
