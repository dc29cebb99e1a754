"""BillFileChecker, BillRenderer, OfdBillRenderer, NotificationVerifier and MessageVerifier:
adapters with no I/O of their own.

The fakes use these adapters as they are (``tests/fakes.fake_deps``), so there is no fake to
drift; the contract holds each to what the services rely on.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest

from chalicelib.adapters.bank import BankConfig
from chalicelib.adapters.bill_files import BillFiles
from chalicelib.adapters.notices import BankNotices
from chalicelib.adapters.ofd_attachments import extract_attached_xml as ofd_attached_xml
from chalicelib.adapters.pdf_bill import PdfBillRenderer, extract_attached_xml
from chalicelib.domain.errors import SignatureInvalid
from chalicelib.services.bills import ofd_sealing
from chalicelib.services.issuance import issue_bill
from devstack.builders.bank import sign_notification
from tests.fakes import fake_deps
from tests.unit.scenario import paid_note

BANK, SECRET = "ABC34010001", b"s" * 32
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def seeded_dir(tmp_path_factory, demo_state_dir):
    """Key files and seed state made once for the module (over the session's channel keys),
    copied into each test's world."""
    path = tmp_path_factory.mktemp("seed")
    shutil.copytree(demo_state_dir, path / "state")
    fake_deps(path)
    return path


@pytest.fixture
def issued(tmp_path, seeded_dir):
    deps = fake_deps(tmp_path, seed_from=seeded_dir)
    ref = issue_bill(deps, paid_note(deps).payment_code)
    assert ref is not None
    record = deps.bills.get(ref.bill_code, ref.bill_number)
    assert record is not None
    return deps, record


class TestBillFileChecker:
    def test_an_issued_bill_verifies_as_xml_and_as_its_pdf(self, issued):
        deps, record = issued
        keys = {k.kid: k.public() for k in deps.keys.all()}
        for key in (record.xml.key, record.pdf.key):
            report = BillFiles().verify(deps.archive.get(key), keys)
            assert report.ok and report.bill is not None
            assert report.bill.bill.bill_number == record.bill.bill_number

    def test_an_altered_bill_fails_its_signatures(self, issued):
        deps, record = issued
        keys = {k.kid: k.public() for k in deps.keys.all()}
        check = record.bill.check_code.encode()
        xml = deps.archive.get(record.xml.key).replace(check, b"Z" * len(check))
        report = BillFiles().verify(xml, keys)
        assert not report.ok and report.failed()


class TestBillRenderer:
    def test_the_pdf_carries_the_signed_xml_it_was_given(self, issued):
        deps, record = issued
        xml = deps.archive.get(record.xml.key)
        pdf = PdfBillRenderer(deps.settings.font_path, "安徽省财政厅").render(
            record.bill, verify_url="http://testserver/b/x", xml_bytes=xml, status_text="已冲红")
        assert pdf.startswith(b"%PDF-") and extract_attached_xml(pdf) == xml


class TestOfdBillRenderer:
    """What ``services.bills.bill_ofd`` relies on: the signed XML rides along unchanged, and an
    OFD sealed through the deps' signer passes the same file check as the XML and the PDF."""

    def test_the_ofd_carries_the_signed_xml_and_its_seal_verifies(self, issued):
        deps, record = issued
        xml = deps.archive.get(record.xml.key)
        unit = deps.units.get(record.bill.issuing_unit_code)
        sealing = ofd_sealing(deps, record.bill, unit)
        assert sealing is not None
        ofd = deps.ofd_renderer.render(record.bill, verify_url="http://testserver/b/x",
                                       xml_bytes=xml, sealing=sealing)
        assert ofd[:2] == b"PK" and ofd_attached_xml(ofd) == xml
        keys = {k.kid: k.public() for k in deps.keys.all()}
        report = BillFiles().verify(ofd, keys)
        assert report.ok and report.bill is not None
        assert report.bill.bill.bill_number == record.bill.bill_number

    def test_an_unsealed_ofd_still_carries_the_xml(self, issued):
        deps, record = issued
        xml = deps.archive.get(record.xml.key)
        ofd = deps.ofd_renderer.render(record.bill, verify_url="http://testserver/b/x",
                                       xml_bytes=xml, status_text="已作废")
        assert ofd_attached_xml(ofd) == xml


class TestNotificationVerifier:
    def notice(self, secret: bytes = SECRET):
        body = {"bank_code": BANK, "payment_code": "34010026000000000018", "amount_fen": 8000,
                "bank_txn_id": "TXN-1", "paid_at": "2026-03-02T10:05:00+08:00"}
        return sign_notification(body, BANK, secret, int(NOW.timestamp()))

    def test_a_verified_notification_is_read_as_the_payment_it_reports(self):
        raw, headers = self.notice()
        seen = BankNotices(lambda: BankConfig(banks={BANK: SECRET})).verify(raw, headers, NOW)
        assert seen.refund is None and seen.ignored is None and seen.payment is not None
        assert (seen.payment.channel, seen.payment.out_trade_no, seen.payment.amount_fen) == (
            "bank", "34010026000000000018", 8000)

    def test_a_forged_notification_is_refused_before_it_is_read(self):
        raw, headers = self.notice(secret=b"f" * 32)
        with pytest.raises(SignatureInvalid):
            BankNotices(lambda: BankConfig(banks={BANK: SECRET})).verify(raw, headers, NOW)


class TestMessageVerifier:
    """Alipay's application-gateway messages: what the merchant re-check relies on."""

    APP_ID = "2021000117650139"
    FORM = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}

    @pytest.fixture(scope="class")
    def alipay_key(self):
        from cryptography.hazmat.primitives.asymmetric import rsa

        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def verifier(self, key):
        from chalicelib.adapters.alipay.config import AlipayConfig
        from chalicelib.adapters.notices import AlipayNotices

        return AlipayNotices(lambda: AlipayConfig(app_id=self.APP_ID, seller_id="2088721000000001",
                                                  alipay_public_key=key.public_key()))

    def message(self, key, method="alipay.open.auth.appauth.cancelled", **common):
        from devstack.builders.alipay import V2, message_fields
        from devstack.builders.alipay import sign_notification as sign_alipay

        fields = message_fields(app_id=self.APP_ID, msg_method=method, now=NOW,
                                biz_content={"user_id": "2088000000000101"}, notify_id="n-7")
        fields.update(common)
        return sign_alipay(fields, key, rule=V2)

    def test_a_verified_cancellation_is_read_with_its_notify_id_and_hints(self, alipay_key):
        seen = self.verifier(alipay_key).message(self.message(alipay_key), self.FORM, NOW)
        assert (seen.method, seen.notify_id) == ("alipay.open.auth.appauth.cancelled", "n-7")
        assert seen.cancelled is not None
        assert seen.cancelled.merchant_ids == ("2088000000000101",)

    def test_another_method_is_named_and_carries_no_cancellation(self, alipay_key):
        seen = self.verifier(alipay_key).message(
            self.message(alipay_key, method="alipay.open.auth.userauth.cancelled"), self.FORM, NOW)
        assert seen.method == "alipay.open.auth.userauth.cancelled" and seen.cancelled is None

    def test_a_forged_or_misaddressed_message_is_refused_before_it_is_read(self, alipay_key):
        from cryptography.hazmat.primitives.asymmetric import rsa

        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with pytest.raises(SignatureInvalid):
            self.verifier(alipay_key).message(self.message(other), self.FORM, NOW)
        with pytest.raises(SignatureInvalid):
            self.verifier(alipay_key).message(
                self.message(alipay_key, app_id="2021000000000999"), self.FORM, NOW)
