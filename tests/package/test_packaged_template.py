"""The packaged production template (``make package`` builds it, then runs these): deployable in
the China regions, least privilege, recoverable tables, TLS-only buckets, callbacks apart,
alarms. A template that is missing fails: it is never skipped."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.package import rules

TEMPLATE = Path(os.environ.get("PACKAGED_TEMPLATE", "build/package/sam.json"))

# What each function's role may do with each table: rw = read and write, r = read,
# append = PutItem and Query only. Anything else in the template fails the test below, so a
# grant can only be widened by changing this table (and the README's, /tmp/notes/deploy.md).
TABLE_ACCESS = {
    "ApiHandlerRole": {"UnitsTable": "rw", "NotesTable": "rw", "IdempotencyTable": "rw",
                       "ChannelOrdersTable": "rw", "BillsTable": "rw", "CountersTable": "rw",
                       "ReimbursementsTable": "rw", "OtpTable": "rw", "SmsLogTable": "rw",
                       "PeopleTable": "rw",  # console accounts and sessions (services/people)
                       "PaymentsTable": "rw",  # POST /v1/bills records the unit's own receipt
                       "ReconciliationsTable": "rw",  # /v1/admin/reconciliations (run, resolve)
                       "FeeItemsTable": "r+put", "SigningKeysTable": "r",
                       "NumberRangesTable": "r+put",  # /v1/admin: fee items, new ranges
                       "AuditTable": "append",
                       "FinanceKeysTable": "get",  # who calls /v1/admin; never written
                       "UnitKeysTable": "r+put+update",  # units' keys: made, revoked
                       "TemplateChoicesTable": "rw",  # the finance department's choice
                       "BillTemplatesTable": "r+put",  # templates it defines: never changed
                       "RemittancesTable": "rw"},  # 划款: instructed days, account settings
    "CallbacksRole": {"NotesTable": "rw", "ChannelOrdersTable": "rw", "PaymentsTable": "rw",
                      "CountersTable": "rw"},
    "IssueBillRole": {"NotesTable": "rw", "BillsTable": "rw", "NumberRangesTable": "rw",
                      "CountersTable": "rw", "UnitsTable": "r", "FeeItemsTable": "r",
                      "SigningKeysTable": "r", "ReimbursementsTable": "r"},
    "ReverseBillRole": {"BillsTable": "rw", "NumberRangesTable": "rw", "CountersTable": "rw",
                        "UnitsTable": "r", "SigningKeysTable": "r", "ReimbursementsTable": "r",
                        "UnitKeysTable": "get", "FinanceKeysTable": "get",  # the caller
                        # ... or the person, by the unit console: their session, who did it
                        "PeopleTable": "session", "AuditTable": "put"},
    "SendSmsRole": {"SmsLogTable": "rw", "BillsTable": "r", "UnitsTable": "r", "NotesTable": "r"},
    "RepairPendingBillsRole": {"BillsTable": "rw", "NumberRangesTable": "rw", "UnitsTable": "r",
                               "NotesTable": "r"},
    "CheckArchiveRole": {"BillsTable": "r", "CountersTable": "state"},
    "QueryOpenOrdersRole": {"ChannelOrdersTable": "rw", "NotesTable": "rw", "PaymentsTable": "rw",
                            "CountersTable": "rw"},
    "RefundExceptionsRole": {"PaymentsTable": "rw", "ChannelOrdersTable": "r", "NotesTable": "r"},
    # 清算对账: records a lost payment as the active query does, keeps its results
    "ReconcileStatementsRole": {"ChannelOrdersTable": "rw", "NotesTable": "rw",
                                "PaymentsTable": "rw", "CountersTable": "rw",
                                "ReconciliationsTable": "rw"},
    "SweepUnissuedNotesRole": {"NotesTable": "query"},
    "WeeklyReportRole": {"NotesTable": "r", "PaymentsTable": "r", "BillsTable": "r",
                         "UnitsTable": "r", "RemittancesTable": "r",
                         "ReconciliationsTable": "r"},
    # the daily check of merchant credentials: keeps Alipay's answer on the unit and drops
    # retired merchants past their keep (conditional updates), audits the warnings, resumes
    # its round from slice to slice (its job state)
    "CheckMerchantCredentialsRole": {"UnitsTable": "r+update", "AuditTable": "append",
                                     "CountersTable": "state"},
}
READ = {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan",
        "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable"}
WRITE = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
LEVELS = {"rw": READ | WRITE, "r": READ, "append": {"dynamodb:PutItem", "dynamodb:Query"},
          "state": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
          "query": {"dynamodb:Query"},  # one index, nothing else (the sweeper)
          "session": {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
          "put": {"dynamodb:PutItem"},  # appends, reads nothing
          "get": {"dynamodb:GetItem"},  # one row by its key, nothing else (the finance keys)
          "r+put": READ | {"dynamodb:PutItem"},  # new rows, never changed or removed
          "r+put+update": READ | {"dynamodb:PutItem", "dynamodb:UpdateItem"},  # never removed
          "r+update": READ | {"dynamodb:UpdateItem"}}  # existing rows changed, none added


@pytest.fixture(scope="module")
def template() -> dict:
    assert TEMPLATE.exists(), f"{TEMPLATE} is missing: run `make package`"
    return json.loads(TEMPLATE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("rule", rules.ALL_RULES, ids=lambda r: r.__name__)
def test_the_packaged_template_keeps_the_rule(template, rule):
    assert rule(template) == []


def test_the_api_is_regional(template):
    [(_, api)] = list(rules.resources(template, "AWS::Serverless::Api"))
    assert api["Properties"]["EndpointConfiguration"] == "REGIONAL"


def test_every_role_reaches_exactly_the_tables_it_is_meant_to(template):
    tables = [name for name, _ in rules.resources(template, "AWS::DynamoDB::Table")]
    actual = {role: {table: access for table in tables
                     if (access := rules.table_access(template, role, table))}
              for role in TABLE_ACCESS}
    expected = {role: {table: LEVELS[level] for table, level in grants.items()}
                for role, grants in TABLE_ACCESS.items()}
    assert actual == expected


def test_every_function_has_a_role_of_the_table(template):
    assert set(rules.function_roles(template).values()) == set(TABLE_ACCESS)


def test_the_api_function_never_writes_the_signing_keys_and_only_appends_to_the_audit(template):
    api_role = rules.function_roles(template)[rules.function_by_handler(template, "app.app")]
    assert rules.table_access(template, api_role, "SigningKeysTable") <= READ
    assert rules.table_access(template, api_role, "AuditTable") == {"dynamodb:PutItem",
                                                                    "dynamodb:Query"}


@pytest.mark.parametrize("name", ["FinanceSigningKey", "FinanceSm2SigningKey"])
def test_only_the_issuing_roles_are_named_in_the_finance_keys_sign_grant(template, name):
    key = template["Resources"][name]["Properties"]["KeyPolicy"]
    signers = [st["Principal"]["AWS"] for st in key["Statement"] if "kms:Sign" in st["Action"]]
    assert signers == [[{"Fn::GetAtt": ["IssueBillRole", "Arn"]},
                        {"Fn::GetAtt": ["ReverseBillRole", "Arn"]}]]
    admin = next(st for st in key["Statement"] if "kms:Sign" not in st["Action"])
    assert "kms:*" not in admin["Action"] and not any(a.startswith("kms:S") and a != "kms:ScheduleKeyDeletion"
                                                      for a in admin["Action"])


def test_the_finance_department_has_an_ecdsa_and_an_sm2_signing_key(template):
    specs = {name: res["Properties"]["KeySpec"]
             for name, res in rules.resources(template, "AWS::KMS::Key")}
    assert specs == {"FinanceSigningKey": "ECC_NIST_P256", "FinanceSm2SigningKey": "SM2"}


def test_every_channel_and_both_keys_are_secrets_in_the_template(template):
    names = {res["Properties"]["Name"]
             for _, res in rules.resources(template, "AWS::SecretsManager::Secret")}
    assert {"fiscal/channels/wechatpay", "fiscal/channels/alipay", "fiscal/channels/unionpay",
            "fiscal/channels/bank", "fiscal/payer-pepper", "fiscal/payment-code-key"} <= names
    for function, res in rules.resources(template, "AWS::Serverless::Function"):
        env = res["Properties"]["Environment"]["Variables"]
        assert "PAYER_PEPPER" not in env and "PAYMENT_CODE_KEY" not in env, function
        assert env["STAGE"] == "prod", function


def test_the_reconciliation_role_keeps_statement_files_in_the_archive_and_nothing_more(template):
    role = template["Resources"]["ReconcileStatementsRole"]["Properties"]["Policies"][0]
    granted = {json.dumps(r, sort_keys=True): st["Action"]
               for st in role["PolicyDocument"]["Statement"]
               for r in st["Resource"] if "ArchiveBucket" in json.dumps(r)}
    assert granted[json.dumps({"Fn::Sub": "${ArchiveBucket.Arn}/statements/*"})] == [
        "s3:GetObject", "s3:PutObject"]
    assert not any(key.endswith('Arn}/*"}') for key in granted)  # never the whole bucket


def test_the_issuing_function_takes_ten_jobs_at_once_and_reports_those_that_failed(template):
    """Without ``ReportBatchItemFailures`` Lambda would read the handler's partial batch
    response as success and delete the failed messages with the others (app.issue_bill)."""
    [event] = template["Resources"]["IssueBill"]["Properties"]["Events"].values()
    assert event["Type"] == "SQS" and "Queue" in event["Properties"]
    assert event["Properties"]["BatchSize"] == 10
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
