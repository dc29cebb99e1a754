"""The fakes keep to the ports they stand in for, so service tests against them stay honest."""

from __future__ import annotations

import inspect
from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.adapters.bill_files import BillFiles
from chalicelib.adapters.notices import AlipayNotices, WechatPayNotices
from chalicelib.adapters.ofd_bill import OfdBillRenderer
from chalicelib.adapters.pdf_bill import PdfBillRenderer
from chalicelib.adapters.pdf_notice import PdfNoticeRenderer
from chalicelib.adapters.pdf_report import PdfReportRenderer
from chalicelib.adapters.signers import LocalSigner
from chalicelib.domain.records import IdempotencyClaim
from chalicelib.services import ports
from tests import fakes, fakes_channels

PAIRS = [
    (ports.UnitRepository, fakes.FakeUnits), (ports.CounterRepository, fakes.FakeCounters),
    (ports.FinanceKeyRepository, fakes.FakeFinanceKeys), (ports.NoteIndex, fakes.FakeNoteIndex),
    (ports.IdempotencyStore, fakes.FakeIdempotency), (ports.NoteRepository, fakes.FakeNotes),
    (ports.PaymentRecorder, fakes.FakePayments), (ports.BillRepository, fakes.FakeBills),
    (ports.RangeRepository, fakes.FakeRanges), (ports.KeyRegistry, fakes.FakeKeys),
    (ports.ReimbursementRepository, fakes.FakeReimbursements), (ports.AuditLog, fakes.FakeAudit),
    (ports.PeopleStore, fakes.FakePeople),
    (ports.Archive, fakes.FakeArchive),
    (ports.JobQueue, fakes.FakeJobs), (ports.SmsSender, fakes.FakeSms),
    (ports.SmsLog, fakes.FakeSmsLog), (ports.OtpStore, fakes.FakeOtp),
    (ports.TemplateChoices, fakes.FakeTemplateChoices),
    (ports.BillTemplateStore, fakes.FakeBillTemplates),
    (ports.PayerBillIndex, fakes.FakePayerBills), (ports.Signer, LocalSigner),
    (ports.ChannelApi, fakes_channels.FakeChannelApi),
    (ports.RefundStore, fakes_channels.FakeRefunds), (ports.JobState, fakes.FakeJobState),
    (ports.ReconciliationStore, fakes.FakeReconciliations),
    (ports.StatementSource, fakes_channels.FakeStatements),
    (ports.MerchantStatementSource, fakes_channels.FakeStatements),
    (ports.MerchantAuthority, fakes_channels.FakeChannelApi),
    (ports.MerchantCertificateRoots, fakes_channels.FakeChannelApi),
    (ports.PayerIdentity, fakes_channels.FakePayerIdentity),
    (ports.NoticeRenderer, PdfNoticeRenderer),  # draws in memory: the real one serves
    (ports.ReportRenderer, PdfReportRenderer), (ports.DailyActivity, fakes.FakeActivity),
    (ports.RemittanceStore, fakes.FakeRemittances), (ports.Metrics, fakes.FakeMetrics),
    # Pure adapters, no I/O: the fakes use them as they are.
    (ports.BillFileChecker, BillFiles), (ports.BillRenderer, PdfBillRenderer),
    (ports.OfdBillRenderer, OfdBillRenderer),
    (ports.NotificationVerifier, WechatPayNotices), (ports.MessageVerifier, AlipayNotices),
]


def port_methods(port: type) -> list[str]:
    return [name for name, value in vars(port).items()
            if callable(value) and not name.startswith("_")]


def port_attributes(port: type) -> list[str]:
    return [name for name in getattr(port, "__annotations__", {}) if not name.startswith("_")]


@pytest.mark.parametrize(("port", "fake"), PAIRS, ids=[p.__name__ for p, _ in PAIRS])
def test_a_fake_has_every_method_of_its_port_with_the_same_parameters(port, fake):
    assert port_methods(port)
    for name in port_methods(port):
        expected = list(inspect.signature(getattr(port, name)).parameters)
        assert list(inspect.signature(getattr(fake, name)).parameters) == expected, name
    for name in port_attributes(port):
        assert hasattr(fake, name), name


def test_every_port_has_a_fake():
    protocols = {name for name, value in vars(ports).items()
                 if isinstance(value, type) and getattr(value, "_is_protocol", False)
                 and name not in ("Protocol", "Ports")}
    assert protocols == {port.__name__ for port, _ in PAIRS}


def test_the_deps_tests_build_offer_every_member_of_the_ports_container(deps):
    members = [name for name in vars(ports.Ports) if not name.startswith("_")]
    assert {"notes", "clock", "settings", "at", "notices", "channel_api"} <= set(members)
    for name in members:
        assert hasattr(deps, name), name
    later = deps.at(lambda: deps.clock() + timedelta(days=1))
    assert later.notes is deps.notes and later.clock() - deps.clock() == timedelta(days=1)


def test_fake_deps_puts_a_fake_behind_every_port(deps):
    wired = {"units": fakes.FakeUnits, "finance_keys": fakes.FakeFinanceKeys,
             "note_index": fakes.FakeNoteIndex, "notes": fakes.FakeNotes, "counters": fakes.FakeCounters,
             "idempotency": fakes.FakeIdempotency, "payments": fakes.FakePayments,
             "bills": fakes.FakeBills, "ranges": fakes.FakeRanges, "keys": fakes.FakeKeys,
             "reimbursements": fakes.FakeReimbursements, "audit": fakes.FakeAudit,
             "people": fakes.FakePeople,
             "archive": fakes.FakeArchive, "rejected_intake": fakes.FakeArchive,
             "jobs": fakes.FakeJobs, "sms": fakes.FakeSms,
             "sms_log": fakes.FakeSmsLog, "otp": fakes.FakeOtp,
             "payer_bills": fakes.FakePayerBills, "signer": LocalSigner,
             "refunds": fakes_channels.FakeRefunds, "job_state": fakes.FakeJobState,
             "wechat_oauth": fakes_channels.FakePayerIdentity,
             "template_choices": fakes.FakeTemplateChoices,
             "bill_templates": fakes.FakeBillTemplates}
    for name, kind in wired.items():
        assert isinstance(getattr(deps, name), kind), name


def test_fake_deps_seeds_the_world_of_the_local_stack(deps):
    from chalicelib.domain.units import FeeItem
    from devstack.seed import COLLECTING, FINANCE_KID, RANGE_SIZE, REIMBURSING

    for unit, items in COLLECTING:
        allowed = tuple(sorted({unit.bill_kind, "0301"}))
        assert deps.units.get(unit.unit_code) == replace(unit, bill_kinds=allowed)
        assert deps.units.fee_items(unit.unit_code) == {
            code: FeeItem(name, unit.bill_kind) for code, name in items}
        assert deps.keys.get(unit.signing_kid).use == "unit"
        for kind in {unit.bill_kind, "0301"}:
            [allocated] = deps.ranges.for_unit(unit.unit_code, kind)
            assert (allocated.next, allocated.size) == (allocated.start, RANGE_SIZE)
            assert allocated.bill_code == f"34{kind}26"
    assert deps.keys.get(FINANCE_KID).use == "finance"
    starts = [(r.bill_code, r.start, r.end) for r in deps.ranges.all()]
    assert all(a[0] != b[0] or a[2] < b[1] for a, b in zip(starts, starts[1:], strict=False))
    assert all(deps.units.get(u.unit_code) == u for u in REIMBURSING)


def test_the_archive_never_overwrites_and_answers_with_what_it_holds():
    archive = fakes.FakeArchive()
    first = archive.put_once("k", b"first", "text/plain")
    second = archive.put_once("k", b"second", "text/plain")
    assert second == first and archive.get("k") == b"first" and archive.writes == ["k"]


def test_a_stale_idempotency_claim_can_be_taken_over(deps, clock):
    store = fakes.FakeIdempotency()
    assert store.claim("u#k", "h", clock()) is None
    assert store.claim("u#k", "h", clock()).state == "in_progress"
    clock.advance(seconds=61)
    assert store.claim("u#k", "other", clock()).state == "in_progress"  # another body
    assert store.claim("u#k", "h", clock()) == IdempotencyClaim("taken_over", "h", None)
    assert store.claim("u#k", "h", clock()).state == "in_progress"  # held again, fresh
