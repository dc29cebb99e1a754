"""The Chalice application: routes live in blueprints, work in services, AWS in adapters."""

from __future__ import annotations

import json
import logging

from chalice import Chalice, Cron, Rate

from chalicelib.api import (
    account,
    admin,
    admin_templates,
    admin_units,
    anomalies,
    callbacks,
    collecting,
    console,
    finance_console,
    finance_template_forms,
    finance_templates,
    finance_unit_basics,
    finance_units,
    ops,
    pages,
    payer_pages,
    public,
    reconciliations,
    refusals,
    reimbursing,
    remittances,
    report_pages,
    reports,
    short_links,
    unit_admin,
    unit_bills,
    unit_console,
    verify_pages,
)
from chalicelib.api.errors import STATUS
from chalicelib.bootstrap import deps
from chalicelib.domain.errors import NotFound


class FiscalChalice(Chalice):
    """Chalice, with HTTP's rule for a request without Accept: it accepts any media type.

    Every response may be binary (bill PDFs and XML), so ``binary_types`` is ``*/*``: API Gateway
    then decodes every base64 body whatever Accept header the client sent. Chalice alone would
    refuse a binary response to a request with no Accept header (urllib sends none).
    """

    def __call__(self, event: dict, context: object) -> dict:
        headers = event.get("headers") or {}
        if not any(name.lower() == "accept" for name in headers):
            event["headers"] = {**headers, "accept": "*/*"}
        return super().__call__(event, context)


app = FiscalChalice(app_name="fiscal-bills", configure_logs=False)
app.api.binary_types = ["*/*"]
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")

for blueprint in (collecting, public, pages, callbacks, reimbursing, verify_pages,
                  payer_pages, short_links, ops, admin, console, finance_console, finance_units,
                  unit_console, reports, remittances, anomalies, report_pages):
    app.register_blueprint(blueprint.bp)
app.register_blueprint(reconciliations.bp)  # 清算对账 (/v1/admin/reconciliations)
app.register_blueprint(admin_templates.bp)  # bill templates per kind (票据模板)
app.register_blueprint(finance_templates.bp)  # ... and their page in the finance console
app.register_blueprint(finance_template_forms.bp)  # defining and editing them (制样)
app.register_blueprint(account.bp)  # a person's own account: password, TOTP (/console/me)
app.register_blueprint(unit_bills.bp)  # the unit console's bills and exception payments
app.register_blueprint(admin_units.bp)  # a unit's bill kinds and seal
app.register_blueprint(finance_unit_basics.bp)  # ... and their forms in the finance console
app.register_blueprint(unit_admin.bp)  # the unit admin's audit log and operators' permissions
app.register_blueprint(refusals.bp)  # middleware: framework refusals in the contract's shape


@app.on_sqs_message(queue="fiscal-issue-bill", batch_size=10)
def issue_bill(event) -> dict:
    """Issue the bills of the paid notes named in the batch, together (idempotent); answers
    which messages failed, so that SQS retries only those (partial batch response)."""
    from chalicelib.services.issue_jobs import handle_issue_batch

    return handle_issue_batch(deps(), event)


@app.schedule(Rate(5, unit=Rate.MINUTES))
def repair_pending_bills(event) -> None:
    """Complete, or record as void, bill numbers whose issuance stopped midway."""
    from chalicelib.services.ranges import repair_job

    repair_job(deps())


@app.schedule(Rate(1, unit=Rate.MINUTES))
def check_archive(event) -> None:
    """A slice of the daily archive check: resumes where the last one stopped, works while the
    invocation has time, saves where it stopped; between rounds it only reads its state."""
    from chalicelib.services.integrity import check_archive_job

    context = event.context
    check_archive_job(deps(), lambda: context.get_remaining_time_in_millis() / 1000)


@app.schedule(Rate(10, unit=Rate.MINUTES))
def sweep_unissued_notes(event) -> None:
    """Enqueue again the issuance of paid notes still without a bill (a lost issuance job)."""
    from chalicelib.services.recovery import sweep_unissued_notes as sweep

    sweep(deps())


@app.schedule(Rate(5, unit=Rate.MINUTES))
def query_open_orders(event) -> None:
    """Active query: ask the channels about orders whose notification has not come."""
    from chalicelib.services.order_query import query_open_orders as query

    query(deps())


@app.schedule(Cron(30, "2-9", "*", "*", "?", "*"))
def reconcile_statements(event) -> None:
    """清算对账: each hour from 10:30 to 17:30 Beijing time, yesterday's statement of every
    channel not reconciled yet (the channels publish after 09:00-10:00), pending ones again."""
    from chalicelib.services.reconciliation import reconcile_due

    reconcile_due(deps())


@app.schedule(Rate(5, unit=Rate.MINUTES))
def refund_exceptions(event) -> None:
    """Request, and follow, the refund of every exception payment that is due one."""
    from chalicelib.services.refunds import refund_exceptions as refund

    refund(deps())


# Monday 01:00 China time (Sunday 17:00 UTC): last week's report, kept (每周一报).
@app.schedule(Cron(0, 17, "?", "*", "SUN", "*"))
def weekly_report(event) -> None:
    """Generate and archive last week's report (JSON, CSV, PDF), once."""
    from chalicelib.services.reports import weekly_report_job

    weekly_report_job(deps())


# A slice every 5 minutes; the day's round starts at 08:00 China time (00:00 UTC), before the
# finance department's working day, and goes on from slice to slice until every unit is checked.
@app.schedule(Rate(5, unit=Rate.MINUTES))
def check_merchant_credentials(event) -> None:
    """Ask Alipay whether each unit's authorisation still holds, drop retired merchants past
    their keep, audit each unit's expiring or lost merchant credentials once a day, and publish
    how many units have one (alarmed): a slice of the day's round, resumed where the last one
    stopped; between rounds it only reads its state. Before the round, the re-check Alipay's
    cancellation messages queued (``services/merchant_rechecks``)."""
    from chalicelib.services.merchant_rechecks import scheduled_check as check

    context = event.context
    check(deps(), lambda: context.get_remaining_time_in_millis() / 1000)


@app.on_sqs_message(queue="fiscal-send-sms", batch_size=1)
def send_sms(event) -> None:
    """Text the payer: a bill's link, or another event's message (exactly once each)."""
    from chalicelib.services.sms import handle_sms_record

    for record in event:
        handle_sms_record(deps(), record)


# Two routes run in functions of their own (infra/resources.json points API Gateway at them):
# the channels' callbacks, with reserved concurrency so no burst of page views can starve them,
# and the reversal of a bill, which signs (only the issuing role may use the signing keys),
# whether a unit's key asks for it or a person in the unit console (its form posts there).
# Each serves API Gateway proxy events through the same app, for its own routes only.
CALLBACK_ROUTES = ("/callbacks/wechatpay", "/callbacks/alipay", "/callbacks/alipay/gateway",
                   "/callbacks/unionpay", "/callbacks/bank")
REVERSAL_ROUTES = ("/v1/bills/{bill_code}/{bill_number}/reversal",
                   "/console/unit/bills/{bill_code}/{bill_number}/reversal")


def _serve_routes(routes: tuple[str, ...], event: dict, context: object) -> dict:
    resource = (event.get("requestContext") or {}).get("resourcePath") or event.get("resource")
    if resource not in routes:  # a mis-wired integration must not widen this function's reach
        return {"statusCode": STATUS[NotFound], "headers": {"Content-Type": "application/json"},
                "isBase64Encoded": False,
                "body": json.dumps({"error": {"code": "not_found", "message": "路径不存在",
                                              "fields": {}}}, ensure_ascii=False)}
    return app(event, context)


@app.lambda_function(name="callbacks")
def callbacks_function(event, context) -> dict:
    """The channels' notifications (/callbacks/*), apart from every other route."""
    return _serve_routes(CALLBACK_ROUTES, event, context)


@app.lambda_function(name="reverse_bill")
def reverse_bill_function(event, context) -> dict:
    """POST /v1/bills/{code}/{number}/reversal and the unit console's form for it: the routes
    that sign (a red bill)."""
    return _serve_routes(REVERSAL_ROUTES, event, context)
