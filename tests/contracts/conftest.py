"""Fixtures of the contract tier: each port's tests run once on its fake, once on its adapter.

A port's test class asks for ``stores`` (or ``archive``, ``jobs``, ...), a fixture parametrized
over ``fake`` and ``dynamo``/``moto``: the same test body then runs against ``tests/fakes.py``
and against the real adapter on in-process moto, so a fake that drifts from its adapter fails
here, not in production. The AWS side is cheap: one ``mock_aws`` for the session, emptied
before and after each test (its state starts empty), only the tables a test touches, created
from ``infra/resources.json`` on first use, and boto3 clients built once per process.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from chalicelib.adapters import dynamo_models
from chalicelib.config import Settings, load_settings
from devstack import moto_aliases, moto_tuning, moto_updates
from tests import moto_transactions
from tests.fakes import (
    FakeActivity,
    FakeAudit,
    FakeBills,
    FakeBillTemplates,
    FakeCounters,
    FakeFinanceKeys,
    FakeIdempotency,
    FakeKeys,
    FakeNoteIndex,
    FakeNotes,
    FakeOtp,
    FakePayerBills,
    FakePayments,
    FakePeople,
    FakeRanges,
    FakeReconciliations,
    FakeReimbursements,
    FakeRemittances,
    FakeSmsLog,
    FakeTemplateChoices,
    FakeUnits,
    Tables,
)
from tests.fakes_channels import FakeRefunds
from tests.world import ENV, TEMPLATE, empty_moto

SETTINGS: Settings = load_settings(ENV)


@cache
def client(service: str) -> Any:
    """One boto3 client per service for the whole process; moto answers it inside a test."""
    import boto3

    return boto3.session.Session().client(service, region_name=SETTINGS.region)


@cache
def table_definitions() -> dict[str, dict[str, Any]]:
    """CreateTable's arguments of each table, by its name in ``dynamo_models.MODELS``: keys,
    indexes and billing as ``infra/resources.json`` declares them, as ``devstack.services.
    create_tables`` takes them for the local stack. moto's tables are ACTIVE at once and TTL
    never expires an item there, so neither a waiter nor UpdateTimeToLive is needed."""
    resources = json.loads(TEMPLATE.read_text())["Resources"]
    keep = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes",
            "LocalSecondaryIndexes", "BillingMode", "ProvisionedThroughput")
    return {name: {k: v for k, v in resources[logical_id]["Properties"].items() if k in keep}
            for name, logical_id in dynamo_models.LOGICAL_IDS.items()}


@cache
def shared_connection() -> Any:
    """One pynamodb connection for the transactions of every adapter in this process: each new
    one builds a botocore session and loads DynamoDB's service model again (about 0.3 s of CPU,
    more than a test)."""
    from pynamodb.connection import Connection

    return Connection(region=SETTINGS.region, host=SETTINGS.dynamodb_endpoint_url)


def _shared(adapter: Any) -> Any:
    if hasattr(adapter, "_connection"):
        adapter._connection = shared_connection()
    return adapter


def _bind_models() -> None:
    """Point the pynamodb models at this tier's tables, unless they point there already
    (another tier in the same process may have pointed them elsewhere)."""
    wanted = [(m.Meta.table_name, getattr(m.Meta, "host", None), getattr(m.Meta, "region", None))
              for m in dynamo_models.MODELS.values()]
    if wanted != [(SETTINGS.table(n), SETTINGS.dynamodb_endpoint_url, SETTINGS.region)
                  for n in dynamo_models.MODELS]:
        dynamo_models.configure(SETTINGS)


@pytest.fixture(scope="session")
def process_mock() -> Iterator[None]:
    """One moto mock for the rest of the session, as ``tests/world.py`` keeps one per process.

    Starting a mock registers ~1,300 callbacks with ``responses`` again (a ``CallbackResponse``
    per moto URL pattern, ~180, and HTTP method, 7: 0.02 CPU-s a start) and stopping it drops
    them: once per test that was ~6 % of the tier's CPU. A mock started while another is active
    (the functional tier's, in the same process) only counts itself in, as a nested one did."""
    mock = mock_aws()
    mock.start()
    yield
    mock.stop()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, process_mock: None) -> Iterator[None]:
    """moto for one test: every AWS service in memory, empty at the start."""
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(key, raising=False)
    moto_transactions.install()  # as in the other tiers (tests/moto_transactions.py)
    moto_aliases.install()  # likewise (devstack/moto_aliases.py)
    moto_tuning.remember_name_lookups()  # likewise (tests/world.py)
    moto_updates.install()  # likewise (devstack/moto_updates.py)
    empty_moto()  # every backend emptied in place, as a new mock would find them
    _bind_models()
    yield
    empty_moto()  # nothing a test wrote outlives it (a mock's stop used to drop it)


@pytest.fixture(scope="session")
def demo_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the demo world's state (``devstack.seed``: the channels' keys and
    certificates, API keys, people), made once for the session: a dozen RSA keys and four
    argon2 hashes, ~1.2 CPU-s, that each module using the channels made for itself. Tests only
    read its files."""
    from devstack.seed import _load_or_create_state

    path = tmp_path_factory.mktemp("demo-state")
    _load_or_create_state(path)
    return path


def demo_state(state_dir: Path) -> dict[str, Any]:
    """A module's own copy of the demo world's state (its files are the session's)."""
    return json.loads((state_dir / "world.json").read_text())


class FakeStores:
    """The fakes of the DynamoDB ports, sharing one ``Tables`` as their adapters share tables."""

    kind = "fake"

    def __init__(self) -> None:
        self.tables = Tables()

    @cached_property
    def units(self) -> FakeUnits:
        return FakeUnits()

    @cached_property
    def finance_keys(self) -> FakeFinanceKeys:
        return FakeFinanceKeys()

    @cached_property
    def note_index(self) -> FakeNoteIndex:
        return FakeNoteIndex(self.tables)

    @cached_property
    def counters(self) -> FakeCounters:
        return FakeCounters(self.tables)

    @cached_property
    def idempotency(self) -> FakeIdempotency:
        return FakeIdempotency()

    @cached_property
    def notes(self) -> FakeNotes:
        return FakeNotes(self.tables)

    @cached_property
    def payments(self) -> FakePayments:
        return FakePayments(self.tables)

    @cached_property
    def bills(self) -> FakeBills:
        return FakeBills(self.tables)

    @cached_property
    def ranges(self) -> FakeRanges:
        return FakeRanges(self.tables)

    @cached_property
    def keys(self) -> FakeKeys:
        return FakeKeys()

    @cached_property
    def reimbursements(self) -> FakeReimbursements:
        return FakeReimbursements(self.tables)

    @cached_property
    def audit(self) -> FakeAudit:
        return FakeAudit(self.tables)

    @cached_property
    def otp(self) -> FakeOtp:
        return FakeOtp()

    @cached_property
    def sms_log(self) -> FakeSmsLog:
        return FakeSmsLog()

    @cached_property
    def template_choices(self) -> FakeTemplateChoices:
        return FakeTemplateChoices()

    @cached_property
    def bill_templates(self) -> FakeBillTemplates:
        return FakeBillTemplates()

    @cached_property
    def payer_bills(self) -> FakePayerBills:
        return FakePayerBills(self.tables)

    @cached_property
    def refunds(self) -> FakeRefunds:
        return FakeRefunds(self.tables.payments)

    @cached_property
    def reconciliations(self) -> FakeReconciliations:
        return FakeReconciliations()

    @cached_property
    def activity(self) -> FakeActivity:
        return FakeActivity(self.tables)

    @cached_property
    def remittances(self) -> FakeRemittances:
        return FakeRemittances()

    @cached_property
    def people(self) -> FakePeople:
        return FakePeople()


class DynamoStores:
    """The DynamoDB adapters on moto; each creates the tables it reads or writes on first use."""

    kind = "dynamo"

    def __init__(self) -> None:
        self._made: set[str] = set()

    def _tables(self, *names: str) -> None:
        for name in names:
            if name not in self._made:
                client("dynamodb").create_table(TableName=SETTINGS.table(name),
                                                **table_definitions()[name])
                self._made.add(name)

    @cached_property
    def units(self) -> Any:
        from chalicelib.adapters.dynamo_units import DynamoUnits

        self._tables("UNITS", "FEE_ITEMS", "UNIT_KEYS")
        return _shared(DynamoUnits())

    @cached_property
    def note_index(self) -> Any:
        from chalicelib.adapters.dynamo_note_index import DynamoNoteIndex

        self._tables("NOTES", "CHANNEL_ORDERS")
        return _shared(DynamoNoteIndex())

    @cached_property
    def finance_keys(self) -> Any:
        from chalicelib.adapters.dynamo_finance_keys import DynamoFinanceKeys

        self._tables("FINANCE_KEYS")
        return _shared(DynamoFinanceKeys())

    @cached_property
    def counters(self) -> Any:
        from chalicelib.adapters.dynamo_notes import DynamoCounters

        self._tables("COUNTERS")
        return _shared(DynamoCounters())

    @cached_property
    def idempotency(self) -> Any:
        from chalicelib.adapters.dynamo_notes import DynamoIdempotency

        self._tables("IDEMPOTENCY")
        return _shared(DynamoIdempotency())

    @cached_property
    def notes(self) -> Any:
        from chalicelib.adapters.dynamo_notes import DynamoNotes

        self._tables("NOTES", "CHANNEL_ORDERS")
        return _shared(DynamoNotes())

    @cached_property
    def payments(self) -> Any:
        from chalicelib.adapters.dynamo_payments import DynamoPaymentRecorder

        self._tables("NOTES", "CHANNEL_ORDERS", "PAYMENTS")
        return _shared(DynamoPaymentRecorder())

    @cached_property
    def bills(self) -> Any:
        from chalicelib.adapters.dynamo_bills import DynamoBills

        self._tables("NOTES", "BILLS", "NUMBER_RANGES", "REIMBURSEMENTS", "COUNTERS", "AUDIT")
        return _shared(DynamoBills())

    @cached_property
    def ranges(self) -> Any:
        from chalicelib.adapters.dynamo_ranges import DynamoRanges

        self._tables("COUNTERS", "NUMBER_RANGES", "BILLS")
        return _shared(DynamoRanges())

    @cached_property
    def keys(self) -> Any:
        from chalicelib.adapters.dynamo_bills import DynamoKeys

        self._tables("SIGNING_KEYS")
        return _shared(DynamoKeys())

    @cached_property
    def reimbursements(self) -> Any:
        from chalicelib.adapters.dynamo_reimbursements import DynamoReimbursements

        self._tables("BILLS", "REIMBURSEMENTS")
        return _shared(DynamoReimbursements())

    @cached_property
    def audit(self) -> Any:
        from chalicelib.adapters.dynamo_reimbursements import DynamoAudit

        self._tables("AUDIT")
        return _shared(DynamoAudit())

    @cached_property
    def otp(self) -> Any:
        from chalicelib.adapters.dynamo_otp import DynamoOtp

        self._tables("OTP")
        return _shared(DynamoOtp())

    @cached_property
    def sms_log(self) -> Any:
        from chalicelib.adapters.dynamo_sms_log import DynamoSmsLog

        self._tables("SMS_LOG")
        return _shared(DynamoSmsLog())

    @cached_property
    def template_choices(self) -> Any:
        from chalicelib.adapters.dynamo_template_choices import DynamoTemplateChoices

        self._tables("TEMPLATE_CHOICES")
        return _shared(DynamoTemplateChoices())

    @cached_property
    def bill_templates(self) -> Any:
        from chalicelib.adapters.dynamo_bill_templates import DynamoBillTemplates

        self._tables("BILL_TEMPLATES")
        return _shared(DynamoBillTemplates())

    @cached_property
    def payer_bills(self) -> Any:
        from chalicelib.adapters.dynamo_payer_bills import DynamoPayerBills

        self._tables("BILLS")
        return _shared(DynamoPayerBills())

    @cached_property
    def refunds(self) -> Any:
        from chalicelib.adapters.dynamo_refunds import DynamoRefunds

        self._tables("PAYMENTS")
        return _shared(DynamoRefunds())

    @cached_property
    def reconciliations(self) -> Any:
        from chalicelib.adapters.dynamo_reconciliations import DynamoReconciliations

        self._tables("RECONCILIATIONS")
        return _shared(DynamoReconciliations())

    @cached_property
    def activity(self) -> Any:
        from chalicelib.adapters.dynamo_activity import DynamoActivity

        self._tables("NOTES", "PAYMENTS", "BILLS")
        return _shared(DynamoActivity())

    @cached_property
    def remittances(self) -> Any:
        from chalicelib.adapters.dynamo_remittances import DynamoRemittances

        self._tables("REMITTANCES")
        return _shared(DynamoRemittances())

    @cached_property
    def people(self) -> Any:
        from chalicelib.adapters.dynamo_people import DynamoPeople

        self._tables("PEOPLE")
        return _shared(DynamoPeople())


Stores = FakeStores | DynamoStores


@pytest.fixture(params=["fake", "dynamo"])
def stores(request: pytest.FixtureRequest) -> Stores:
    """Every DynamoDB port, as fakes over one ``Tables`` or as adapters over moto's tables."""
    if request.param == "fake":
        return FakeStores()
    request.getfixturevalue("aws")
    return _shared(DynamoStores())
