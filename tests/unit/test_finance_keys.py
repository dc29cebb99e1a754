"""The finance department's keys: made by the operator, stored as a hash, revoked at once."""

import pytest

from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.units import hash_api_key
from chalicelib.services.finance_keys import create_finance_key, revoke_finance_key


def test_a_new_finance_key_is_stored_only_as_its_hash_and_named_by_a_prefix_of_it(deps):
    key, api_key = create_finance_key(deps, scope="340100", label="合肥市财政局",
                                      actor="operator:ops")
    assert api_key.startswith("fk_") and len(api_key) >= 40
    stored = deps.finance_keys.get(hash_api_key(api_key))
    assert stored == key and key.scope == "3401" and key.active
    assert key.key_id == "key_" + hash_api_key(api_key)[:12]
    assert api_key not in repr(deps.finance_keys.keys)
    assert key.covers("340102") and not key.covers("340202")


def test_making_and_revoking_a_finance_key_are_in_the_audit_log_with_who_did_it(deps):
    key, _ = create_finance_key(deps, scope="34", label="安徽省财政厅", actor="operator:ops")
    deps.clock.advance(minutes=1)
    revoked = revoke_finance_key(deps, key.key_id, actor="operator:ops")
    assert revoked.revoked_at == "2026-03-02T10:01:00+08:00" and not revoked.active
    events = deps.audit.query(bill_id=f"admin#finance_key#{key.key_id}")
    assert [(e.action, e.client, e.detail["scope"]) for e in events] == [
        ("revoke_finance_key", "operator:ops", "34"), ("create_finance_key", "operator:ops", "34")]


def test_a_second_revocation_keeps_the_first_ones_time(deps):
    key, _ = create_finance_key(deps, scope="34", label="安徽省财政厅")
    first = revoke_finance_key(deps, key.key_id).revoked_at
    deps.clock.advance(minutes=5)
    assert revoke_finance_key(deps, key.key_id).revoked_at == first


def test_a_bad_scope_or_label_makes_no_key_and_an_unknown_key_cannot_be_revoked(deps):
    before = deps.finance_keys.all()
    with pytest.raises(ValidationFailed) as bad_scope:
        create_finance_key(deps, scope="3", label="x")
    with pytest.raises(ValidationFailed) as bad_label:
        create_finance_key(deps, scope="34", label="  ")
    assert set(bad_scope.value.fields) == {"scope"} and set(bad_label.value.fields) == {"label"}
    assert deps.finance_keys.all() == before
    with pytest.raises(NotFound):
        revoke_finance_key(deps, "key_000000000000")
