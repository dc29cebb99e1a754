"""The ports of a unit's own merchant at a channel: ``MerchantAuthority`` (who granted an
authorisation token of our application: Alipay's ``alipay.open.auth.token.app.query``) and
``MerchantStatementSource`` (an authorised merchant's own statement, asked for with its token),
the fake against our Alipay client on the simulator's Alipay (in-process)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.merchants import Authorisation
from chalicelib.domain.statements import PAYMENT, Statement, StatementLine
from devstack.sim_common import SimOrder
from tests.contracts.builders import code
from tests.contracts.conftest import demo_state
from tests.contracts.test_statement_sources import DAY, PAID, served
from tests.fakes_channels import FakeChannelApi, FakeStatements

SELLER, OTHER = "2088000000000101", "2088000000000102"


class Side:
    """One implementation and how to make the channel know a merchant, pay for it, go down."""

    def __init__(self, name: str, state: dict[str, Any]) -> None:
        self.name = name
        if name == "fake":
            self.api: Any = FakeChannelApi("alipay")
            self.source: Any = FakeStatements("alipay")
            self.servers = None
        else:
            self.source, self.servers, _ = served("alipay", state)
            self.api = self.source

    def grant(self, seller: str) -> tuple[str, str]:
        """The merchant ``seller`` authorises our application: (token, auth_app_id)."""
        if self.servers is None:
            token, app = f"202606BB{seller}{'0' * 16}", "2021" + seller[4:]
            self.api.authorisations[token] = Authorisation(seller, app, valid=True)
            return token, app
        granted = self.servers.servers["alipay"].grant(seller)
        return granted["app_auth_token"], granted["auth_app_id"]

    def paid(self, n: int, seller: str) -> str:
        """A trade of ``DAY`` paid to ``seller`` ("" the deployment's): its channel id."""
        moment = PAID + timedelta(minutes=n)
        if self.servers is None:
            txn = f"2026061522001{n:015d}"
            line = StatementLine(PAYMENT, txn, code(n) + "Ab12", 1000 * n, 6 * n,
                                 moment.isoformat(), merchant=seller)
            key = (DAY, seller) if seller else None
            if key is None:
                old = self.source.by_date.get(DAY, Statement("alipay", DAY))
                self.source.by_date[DAY] = Statement("alipay", DAY, (*old.lines, line))
            else:
                old = self.source.by_merchant.get(key, Statement("alipay", DAY))
                self.source.by_merchant[key] = Statement("alipay", DAY, (*old.lines, line))
            return txn
        found = self.servers.servers["alipay"].authorisation(self.grant(seller)[0]) \
            if seller else ("", "")
        assert found is not None
        order = self.servers.remember(SimOrder(
            "alipay", code(n) + "Ab12", 1000 * n, "", "",
            extra={"seller_id": found[0], "auth_app_id": found[1]} if seller else {}))
        order.txn_id, order.paid_at = self.servers.servers["alipay"].new_txn_id(moment), moment
        return order.txn_id

    def go_down(self) -> None:
        if self.servers is None:
            self.api.down = True
            self.source.failing = ServiceUnavailable("alipay is down")
        else:
            self.servers.failing["alipay"] = 503


@pytest.fixture(scope="module")
def stack_state(demo_state_dir: Path) -> dict[str, Any]:
    return demo_state(demo_state_dir)


@pytest.fixture(params=["fake", "alipay"])
def side(request: pytest.FixtureRequest, stack_state: dict[str, Any]) -> Side:
    return Side(request.param, stack_state)


class TestMerchantAuthority:
    def test_a_token_granted_by_a_merchant_names_it_and_holds(self, side):
        token, app = side.grant(SELLER)
        found = side.api.authorisation(token)
        assert found is not None
        assert (found.merchant_id, found.app_id, found.valid) == (SELLER, app, True)

    def test_a_token_the_channel_never_issued_is_unknown(self, side):
        side.grant(SELLER)
        assert side.api.authorisation(f"202606BB{SELLER}ffffffffffffffff") is None

    def test_a_channel_that_is_down_cannot_be_asked(self, side):
        token, _ = side.grant(SELLER)
        side.go_down()
        with pytest.raises(ServiceUnavailable):
            side.api.authorisation(token)


class TestMerchantStatementSource:
    def test_a_merchants_statement_is_its_own_trades_each_naming_it(self, side):
        ours, theirs, another = side.paid(1, ""), side.paid(2, SELLER), side.paid(3, OTHER)
        token, _ = side.grant(SELLER)
        mine = side.source.merchant_statement(DAY, SELLER, token)
        assert [(li.channel_txn_id, li.merchant) for li in mine.lines] == [(theirs, SELLER)]
        deployment = side.source.statement(DAY)
        assert [li.channel_txn_id for li in deployment.lines] == [ours]
        assert another not in {li.channel_txn_id for li in mine.lines + deployment.lines}

    def test_a_merchant_without_trades_that_day_has_an_empty_statement(self, side):
        side.paid(1, "")
        token, _ = side.grant(SELLER)
        assert side.source.merchant_statement(DAY, SELLER, token).lines == ()

    def test_a_channel_that_is_down_leaves_the_merchants_day_to_a_later_run(self, side):
        token, _ = side.grant(SELLER)
        side.go_down()
        with pytest.raises(ServiceUnavailable):
            side.source.merchant_statement(DAY, SELLER, token)


def test_alipay_refuses_a_merchants_statement_asked_with_a_token_it_never_issued(
        stack_state):
    source, _, _ = served("alipay", stack_state)
    with pytest.raises(ServiceUnavailable, match="must authorise again"):
        source.merchant_statement(DAY, SELLER, f"202606BB{SELLER}ffffffffffffffff")


@pytest.fixture(params=["fake", "unionpay"])
def roots_side(request):
    """``(api, configure)``: FakeChannelApi, or UnionPayApi over a configuration whose
    ``merchant_cert_roots`` ``configure(roots)`` sets (as the secret's merchant_cert_roots_pem)."""
    from dataclasses import replace

    from chalicelib.adapters.unionpay.api import UnionPayApi
    from tests.fakes_channels import FakeChannelApi
    from tests.unit.test_unionpay_api import NOW

    if request.param == "fake":
        fake = FakeChannelApi("unionpay")
        return lambda roots: (setattr(fake, "merchant_roots", tuple(roots)) or fake)
    from chalicelib.adapters.unionpay.config import UnionPayConfig
    from devstack.builders.unionpay import make_test_chain

    root, middle, leaf, key = make_test_chain()
    config = UnionPayConfig(mer_id="777290058110097", middle_cert=middle, root_cert=root,
                            merchant_sign_key=key, merchant_sign_cert=leaf)
    return lambda roots: UnionPayApi(replace(config, merchant_cert_roots=tuple(roots)),
                                     "https://gateway.test", None, lambda: NOW)  # type: ignore[arg-type]


class TestMerchantCertificateRoots:
    def test_the_configured_roots_are_what_an_upload_must_chain_to(self, roots_side):
        from devstack.builders.unionpay import make_merchant_ca

        ca, other = make_merchant_ca()[0], make_merchant_ca("Other CA")[0]
        assert roots_side([ca, other]).merchant_cert_roots() == (ca, other)

    def test_none_configured_is_none(self, roots_side):
        assert roots_side([]).merchant_cert_roots() == ()
