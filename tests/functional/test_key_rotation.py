"""After a key rotation, new bills use the new keys and old bills still verify."""

import json
from datetime import timedelta

from chalicelib.adapters.bill_files import verify_bill_file
from chalicelib.adapters.signers import verify_es256
from chalicelib.domain.key_trust import trust_of
from chalicelib.services.keys import rotate_key
from tests.functional.test_reimbursements_api import issued_bill


def xml(client, bill):
    return client.http.get(f"/v1/public/bills/{bill['bill_code']}/{bill['bill_number']}/xml"
                           f"?check_code={bill['check_code']}").body


def test_old_bills_verify_after_both_keys_rotate(world, client):
    old = issued_bill(world, client)
    world.clock.now += timedelta(days=1)
    rotate_key(world.deps, kid="finance-34-2026b", use="finance", owner="安徽省财政厅")
    rotate_key(world.deps, kid="unit-340100001-2026b", use="unit", owner="340100001")
    world.clock.now += timedelta(seconds=1)
    new = issued_bill(world, client)
    doc = json.loads(client.http.get("/v1/public/keys").body)
    keys = {k["kid"]: k for k in doc["keys"]}
    assert keys["finance-34-2026a"]["not_after"] is not None
    assert keys["finance-34-2026b"]["not_after"] is None
    # Every key, the retired ones re-endorsed with their new end, holds under the pinned root.
    trust = trust_of(doc, world.seeded.root_fingerprint, verify_es256)
    assert {kid: trust.problem(k) for kid, k in keys.items()} == dict.fromkeys(keys)
    old_report = verify_bill_file(xml(client, old), keys, trust)
    new_report = verify_bill_file(xml(client, new), keys, trust)
    assert old_report.ok and new_report.ok
    assert [s.kid for s in new_report.bill.signatures] == ["unit-340100001-2026b",
                                                           "finance-34-2026b"]
    assert [s.kid for s in old_report.bill.signatures] == ["unit-340100001-2026a",
                                                           "finance-34-2026a"]
    # The API key of the unit still works after its signing key changed.
    assert client.http.get("/v1/payment-exceptions", headers=world.auth()).status_code == 200


def test_the_operator_prints_the_root_fingerprint_that_verifiers_pin(world, client, capsys):
    from chalicelib import cli
    from devstack.seed import ROOT_KID

    assert cli.main(["root-fingerprint"]) == 0
    assert capsys.readouterr().out.split() == [world.seeded.root_fingerprint, ROOT_KID]
