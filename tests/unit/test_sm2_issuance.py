"""Bills signed with SM2: the seeded traffic police (340100002) sign with an SM2 key, and the
finance department countersigns with its SM2 key, so their bills are SM2 end to end; the other
unit's bills stay ES256. The finance department keeps one key per algorithm."""

from __future__ import annotations

import base64
from datetime import timedelta

from chalicelib.adapters import sm2
from chalicelib.adapters.bill_files import verify_bill_file
from chalicelib.domain import bill_xml
from chalicelib.services import notes as note_service
from chalicelib.services.issuance import current_finance_key, issue_bill
from chalicelib.services.keys import rotate_key
from devstack.seed import FINANCE_KID, FINANCE_OWNER, FINANCE_SM2_KID
from tests.unit.scenario import OTHER_ITEMS, OTHER_UNIT, note_body, paid_note, pay


def police_bill_xml(deps, txn: str = "4200000001202603020000000009") -> bytes:
    body = note_body(items=[{"item_code": OTHER_ITEMS[0][0], "name": OTHER_ITEMS[0][1],
                             "quantity": "1", "standard_fen": 20000, "amount_fen": 20000}],
                     total_fen=20000)
    note, _ = note_service.create_note(deps, OTHER_UNIT, body)
    pay(deps, note, txn)
    ref = issue_bill(deps, note.payment_code)
    return deps.archive.get(deps.bills.get(ref.bill_code, ref.bill_number).xml.key)


def test_a_unit_with_an_sm2_key_gets_bills_signed_sm2_twice(deps):
    xml = police_bill_xml(deps)
    report = verify_bill_file(xml, deps.keys.public())
    assert report.ok, report.failed()
    assert [(s.kid, s.alg) for s in report.bill.signatures] == [
        (OTHER_UNIT.signing_kid, "SM2"), (FINANCE_SM2_KID, "SM2")]


def test_each_sm2_signature_of_the_bill_is_an_sm2_signature_of_its_signing_input(deps):
    xml = police_bill_xml(deps)
    parsed = bill_xml.parse_document(xml)
    keys = deps.keys.public()
    for sig, message in zip(parsed.signatures, parsed.signed_inputs, strict=True):
        value = base64.b64decode(sig.value_b64)
        assert sm2.verify(keys[sig.kid]["public_key_pem"], message, value)
        assert not sm2.verify(keys[sig.kid]["public_key_pem"], message + b" ", value)


def test_an_altered_sm2_bill_fails_its_check(deps):
    xml = police_bill_xml(deps)
    forged = xml.replace(b"<TotalAmount>200.00</TotalAmount>", b"<TotalAmount>2.00</TotalAmount>")
    assert forged != xml
    report = verify_bill_file(forged, deps.keys.public())
    assert not report.ok
    assert report.failed()[0].endswith("signature does not match the content (altered or "
                                       "wrong key)")


def test_an_sm2_signature_claimed_as_es256_fails_on_the_algorithm(deps):
    xml = police_bill_xml(deps).replace(b"<Algorithm>SM2</Algorithm>",
                                        b"<Algorithm>ES256</Algorithm>", 1)
    report = verify_bill_file(xml, deps.keys.public())
    assert report.failed()[0] == (f"unit signature ({OTHER_UNIT.signing_kid}): algorithm "
                                  "'ES256' does not match the key ('SM2')")


def test_a_unit_with_an_es256_key_keeps_es256_bills(deps):
    ref = issue_bill(deps, paid_note(deps).payment_code)
    xml = deps.archive.get(deps.bills.get(ref.bill_code, ref.bill_number).xml.key)
    report = verify_bill_file(xml, deps.keys.public())
    assert report.ok
    assert [s.alg for s in report.bill.signatures] == ["ES256", "ES256"]
    assert report.bill.signatures[1].kid == FINANCE_KID


def test_the_finance_key_follows_the_units_algorithm(deps):
    now = "2026-03-02T10:00:00+08:00"
    assert current_finance_key(deps, now, "SM2").kid == FINANCE_SM2_KID
    assert current_finance_key(deps, now, "ES256").kid == FINANCE_KID


def test_rotating_the_finance_sm2_key_leaves_its_es256_key_in_force(deps, clock):
    clock.now += timedelta(days=1)
    new = rotate_key(deps, kid="finance-34-sm2-2026b", use="finance", owner=FINANCE_OWNER,
                     alg="SM2")
    assert new.alg == "SM2"
    assert deps.keys.get(FINANCE_SM2_KID).not_after is not None
    assert deps.keys.get(FINANCE_KID).not_after is None
    later = (clock.now + timedelta(hours=1)).isoformat()
    assert current_finance_key(deps, later, "SM2").kid == "finance-34-sm2-2026b"
    assert current_finance_key(deps, later, "ES256").kid == FINANCE_KID


def test_a_unit_rotated_to_sm2_issues_sm2_bills_from_then_on(deps, clock):
    from tests.unit.scenario import UNIT

    clock.now += timedelta(days=1)
    rotate_key(deps, kid="unit-340100001-sm2-2026b", use="unit", owner=UNIT.unit_code, alg="SM2")
    clock.now += timedelta(seconds=1)
    ref = issue_bill(deps, paid_note(deps).payment_code)
    xml = deps.archive.get(deps.bills.get(ref.bill_code, ref.bill_number).xml.key)
    report = verify_bill_file(xml, deps.keys.public())
    assert report.ok, report.failed()
    assert [(s.kid, s.alg) for s in report.bill.signatures] == [
        ("unit-340100001-sm2-2026b", "SM2"), (FINANCE_SM2_KID, "SM2")]


def test_an_sm2_finance_root_endorses_keys_and_verify_bill_checks_with_its_algorithm(
        deps, tmp_path, capsys):
    """``rotate-key --use root --alg SM2``: every key is re-endorsed with SM2, and the offline
    command checks endorsements with the root's algorithm (ES256 and SM2 bills alike)."""
    import json

    from chalicelib.cli import main
    from chalicelib.domain.key_trust import fingerprint
    from chalicelib.services.bills import public_keys

    bills = [police_bill_xml(deps)]
    ref = issue_bill(deps, paid_note(deps).payment_code)
    bills.append(deps.archive.get(deps.bills.get(ref.bill_code, ref.bill_number).xml.key))
    root = rotate_key(deps, kid="finance-root-34-sm2", use="root", owner=FINANCE_OWNER, alg="SM2")
    doc = public_keys(deps)
    assert (doc["root"]["kid"], doc["root"]["alg"]) == ("finance-root-34-sm2", "SM2")
    (tmp_path / "keys.json").write_text(json.dumps(doc), encoding="utf-8")
    for i, xml in enumerate(bills):
        (tmp_path / f"{i}.xml").write_bytes(xml)
        args = ["verify-bill", "--keys-file", str(tmp_path / "keys.json"), "--root-fingerprint",
                fingerprint(root.public_key_pem), str(tmp_path / f"{i}.xml")]
        assert main(args) == 0, capsys.readouterr().out
        # The same list claiming an ES256 root: every endorsement fails.
        doc_es = {**doc, "root": {**doc["root"], "alg": "ES256"}}
        (tmp_path / "keys-es.json").write_text(json.dumps(doc_es), encoding="utf-8")
        args[2] = str(tmp_path / "keys-es.json")
        assert main(args) == 1
        assert "key endorsement does not verify" in capsys.readouterr().out

