"""API keys name the tenant and principal; tenants never see each other."""

from __future__ import annotations

import grpc
import pytest

from convene.v1 import scheduling_service_pb2 as api
from tests.server.conftest import OPS_KEY, OTHER_KEY, Served, key
from tests.server.messages import find, member, rules


@pytest.mark.parametrize("metadata", [
    (),
    (("authorization", "Bearer not-a-key-anyone-issued"),),
    (("authorization", "Basic dGVhbS1vcHMta2V5LTAxMjM0NTY3ODk="),),
    (("authorization", "Bearer "),),
], ids=["missing", "unknown", "wrong-scheme", "empty"])
def test_calls_without_a_known_key_are_unauthenticated(served: Served, metadata: tuple[tuple[str, str], ...]) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        served.stub.FindSlots(find(rules(member("alice"))), metadata=metadata)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as caught:
        served.stub.ListMembers(api.ListMembersRequest(), metadata=metadata)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("scheme", ["Basic", "Token", "ApiKey", ""])
def test_a_valid_key_under_another_scheme_is_refused(served: Served, scheme: str) -> None:
    # The key itself is right: only the scheme can make these fail.
    value = f"{scheme} {OPS_KEY}".strip()
    with pytest.raises(grpc.RpcError) as caught:
        served.stub.ListMembers(api.ListMembersRequest(), metadata=(("authorization", value),))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert served.stub.ListMembers(api.ListMembersRequest(), metadata=key()).members  # Bearer works
    assert served.stub.ListMembers(api.ListMembersRequest(),
                                   metadata=(("authorization", f"bearer {OPS_KEY}"),)).members  # any case


def test_auth_is_checked_before_the_request(served: Served) -> None:
    # A bad request without a key says nothing about the request.
    with pytest.raises(grpc.RpcError) as caught:
        served.stub.FindSlots(find(rules(member("mallory")), zone="Nowhere"), metadata=())
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_one_tenants_ids_are_not_found_for_another(served: Served) -> None:
    zoe = served.stub.FindSlots(find(rules(member("zoe"))), metadata=key(OTHER_KEY))
    assert zoe.slots
    for api_key, stranger in ((OTHER_KEY, "alice"), (OPS_KEY, "zoe")):
        with pytest.raises(grpc.RpcError) as caught:
            served.stub.FindSlots(find(rules(member(stranger))), metadata=key(api_key))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.RpcError) as caught:
            served.stub.GetMember(api.GetMemberRequest(member_id=stranger), metadata=key(api_key))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    other_members = served.stub.ListMembers(api.ListMembersRequest(), metadata=key(OTHER_KEY)).members
    assert [m.id for m in other_members] == ["zoe"]
    assert not served.stub.ListTemplates(api.ListTemplatesRequest(), metadata=key(OTHER_KEY)).templates
