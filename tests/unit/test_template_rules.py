"""Each rule over the packaged template catches what it is meant to catch (tests/package/rules.py).

A small template that keeps every rule is broken one way at a time; the rule for that way must
name it. (tests/package runs the same rules over the real package.)"""

from __future__ import annotations

import copy

import pytest

from tests.package import rules


def arn(name):
    return {"Fn::GetAtt": [name, "Arn"]}


def role(*statements):
    return {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"PolicyName": "p",
            "PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)}}]}}


def function(handler, role_name, **props):
    return {"Type": "AWS::Serverless::Function",
            "Properties": {"Handler": handler, "Role": arn(role_name), **props}}


def alarm(metric, dimension, threshold=0):
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "MetricName": metric, "Dimensions": [{"Name": "d", "Value": dimension}],
        "Threshold": threshold, "ComparisonOperator": "GreaterThanThreshold",
        "AlarmActions": [{"Ref": "AlarmTopic"}]}}


def integration(function_name):
    return {"post": {"x-amazon-apigateway-integration": {"uri": {
        "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/"
                   "functions/${" + function_name + ".Arn}/invocations"}}}}


def good() -> dict:
    table = {"Type": "AWS::DynamoDB::Table", "Properties": {
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}}}
    return {"Resources": {
        "RestAPI": {"Type": "AWS::Serverless::Api", "Properties": {
            "EndpointConfiguration": "REGIONAL",
            "DefinitionBody": {"paths": {"/callbacks/alipay": integration("Callbacks"),
                                         "/v1/notes": integration("APIHandler")}}}},
        "APIHandler": function("app.app", "ApiRole"),
        "Callbacks": function("app.callbacks_function", "CallbacksRole",
                              ReservedConcurrentExecutions=50),
        "CallbacksPermission": {"Type": "AWS::Lambda::Permission",
                                "Properties": {"FunctionName": {"Ref": "Callbacks"}}},
        "IssueBill": function("app.issue_bill", "IssueRole", ReservedConcurrentExecutions=20),
        "ReverseBill": function("app.reverse_bill_function", "ReverseRole"),
        "CheckArchive": function("app.check_archive", "CheckRole"),
        "ReconcileStatements": function("app.reconcile_statements", "ReconcileRole"),
        "WeeklyReport": function("app.weekly_report", "ReportRole"),
        "MerchantChecks": function("app.check_merchant_credentials", "MerchantChecksRole"),
        "ApiRole": role(
            {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"],
             "Resource": [arn("SigningKeysTable")]},
            {"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:Query"],
             "Resource": [arn("AuditTable"), {"Fn::Sub": "${AuditTable.Arn}/index/*"}]},
            {"Effect": "Allow", "Action": ["s3:GetObject"],
             "Resource": [{"Fn::Sub": "${Archive.Arn}/*"}]}),
        "CallbacksRole": role({"Effect": "Allow", "Action": ["sqs:SendMessage"],
                               "Resource": [arn("Jobs")]}),
        "IssueRole": role({"Effect": "Allow", "Action": ["kms:Sign"], "Resource": {
            "Fn::Sub": "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*"}}),
        "ReverseRole": role({"Effect": "Allow", "Action": ["kms:Sign"], "Resource": {
            "Fn::Sub": "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*"}}),
        "CheckRole": role({"Effect": "Allow", "Action": ["dynamodb:Scan"],
                           "Resource": [arn("AuditTable")]}),
        "ReconcileRole": role({"Effect": "Allow", "Action": ["dynamodb:Query"],
                               "Resource": [arn("AuditTable")]}),
        "ReportRole": role({"Effect": "Allow", "Action": ["dynamodb:Query"],
                            "Resource": [arn("AuditTable")]}),
        "MerchantChecksRole": role(
            {"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:Query"],
             "Resource": [arn("AuditTable")]},
            {"Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": "*",
             "Condition": {"StringEquals": {"cloudwatch:namespace": "FiscalBills"}}}),
        "SigningKeysTable": copy.deepcopy(table),
        "AuditTable": copy.deepcopy(table),
        "Archive": {"Type": "AWS::S3::Bucket", "Properties": {}},
        "ArchivePolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
            "Bucket": {"Ref": "Archive"}, "PolicyDocument": {"Statement": [{
                "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": [arn("Archive"), {"Fn::Sub": "${Archive.Arn}/*"}],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}}},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyUsage": "SIGN_VERIFY", "KeyPolicy": {
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": {
                    "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
                 "Action": ["kms:Describe*", "kms:Get*"], "Resource": "*"},
                {"Effect": "Allow", "Principal": {"AWS": [arn("IssueRole"), arn("ReverseRole")]},
                 "Action": ["kms:Sign"], "Resource": "*"}]}}},
        "Jobs": {"Type": "AWS::SQS::Queue", "Properties": {"RedrivePolicy": {
            "deadLetterTargetArn": arn("JobsDlq"), "maxReceiveCount": 5}}},
        "JobsDlq": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "DlqAlarm": alarm("ApproximateNumberOfMessagesVisible",
                          {"Fn::GetAtt": ["JobsDlq", "QueueName"]}),
        "LagAlarm": alarm("ApproximateAgeOfOldestMessage",
                          {"Fn::GetAtt": ["IssueBillQueue", "QueueName"]}, 600),
        "IntegrityAlarm": alarm("Errors", {"Ref": "CheckArchive"}),
        "ReconcileAlarm": alarm("Errors", {"Ref": "ReconcileStatements"}),
        "ReportAlarm": alarm("Errors", {"Ref": "WeeklyReport"}),
        "ApiAlarm": alarm("5XXError", "fiscal-bills", 0.05),
        "MerchantChecksAlarm": alarm("Errors", {"Ref": "MerchantChecks"}),
        "MerchantsDueAlarm": alarm("MerchantCredentialsDue", "prod"),
    }}


def test_the_small_template_keeps_every_rule():
    t = good()
    assert {rule.__name__: rule(t) for rule in rules.ALL_RULES} == {
        rule.__name__: [] for rule in rules.ALL_RULES}


def broken(change) -> dict:
    t = good()
    change(t["Resources"])
    return t


def statements(r, role_name):
    return r[role_name]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]


@pytest.mark.parametrize(("rule", "change", "named"), [
    (rules.edge_endpoints,
     lambda r: r["RestAPI"]["Properties"].update(EndpointConfiguration="EDGE"), "EDGE"),
    (rules.edge_endpoints,
     lambda r: r["RestAPI"]["Properties"].pop("EndpointConfiguration"), "EDGE"),
    (rules.hard_coded_partition,
     lambda r: statements(r, "IssueRole")[0].update(Resource="arn:aws:kms:cn-north-1:1:key/x"),
     "arn:aws:kms"),
    (rules.absent_in_china,
     lambda r: r.update(Cdn={"Type": "AWS::CloudFront::Distribution"}), "CloudFront"),
    (rules.absent_in_china,
     lambda r: r["APIHandler"]["Properties"].update(Tracing="Active"), "X-Ray"),
    (rules.absent_in_china,
     lambda r: r["APIHandler"]["Properties"].update(FunctionUrlConfig={"AuthType": "NONE"}),
     "Function URL"),
    (rules.absent_in_china,
     lambda r: r.update(Text={"Type": "AWS::SNS::Subscription",
                              "Properties": {"Protocol": "sms"}}), "SMS"),
    (rules.absent_in_china,
     lambda r: r["RestAPI"]["Properties"]["DefinitionBody"].update(securityDefinitions={
         "pool": {"x-amazon-apigateway-authtype": "cognito_user_pools"}}), "Cognito"),
    (rules.wildcard_resources,
     lambda r: statements(r, "CallbacksRole").append(
         {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": "*"}), "sns:Publish"),
    (rules.wildcard_resources,
     lambda r: statements(r, "IssueRole")[0].update(Resource="*"), "kms:Sign on Resource *"),
    (rules.wildcard_resources,
     lambda r: statements(r, "ApiRole")[2].update(Action=["s3:*"]), "s3:*"),
    (rules.one_role_per_function,
     lambda r: r["CheckArchive"]["Properties"].update(Role=arn("ApiRole")), "shares ApiRole"),
    (rules.keys_and_audit,
     lambda r: statements(r, "ApiRole")[0]["Action"].append("dynamodb:PutItem"),
     "writes SigningKeysTable"),
    (rules.keys_and_audit,
     lambda r: statements(r, "ApiRole")[1]["Action"].append("dynamodb:UpdateItem"),
     "changes AuditTable"),
    (rules.keys_and_audit,
     lambda r: statements(r, "ApiRole")[1]["Action"].append("dynamodb:DeleteItem"),
     "changes AuditTable"),
    (rules.signing_keys_sign_only_for_issuers,
     lambda r: r["Key"]["Properties"]["KeyPolicy"]["Statement"][0]["Action"].append("kms:*"),
     "iam::${AWS::AccountId}:root"),
    (rules.signing_keys_sign_only_for_issuers,
     lambda r: statements(r, "CallbacksRole").append(
         {"Effect": "Allow", "Action": ["kms:Sign"], "Resource": arn("Key")}),
     "CallbacksRole may kms:Sign"),
    (rules.point_in_time_recovery,
     lambda r: r["AuditTable"]["Properties"].pop("PointInTimeRecoverySpecification"), "AuditTable"),
    (rules.tls_only_buckets, lambda r: r.pop("ArchivePolicy"), "Archive"),
    (rules.tls_only_buckets,
     lambda r: r["ArchivePolicy"]["Properties"]["PolicyDocument"]["Statement"][0].update(
         Resource=[arn("Archive")]), "Archive"),
    (rules.callbacks_apart,
     lambda r: r["Callbacks"]["Properties"].pop("ReservedConcurrentExecutions"),
     "no reserved concurrency"),
    (rules.callbacks_apart,
     lambda r: r["RestAPI"]["Properties"]["DefinitionBody"]["paths"].update(
         {"/callbacks/bank": integration("APIHandler")}), "/callbacks/bank"),
    (rules.callbacks_apart,
     lambda r: r["IssueBill"]["Properties"].update(ReservedConcurrentExecutions=900),
     "reserved executions"),
    (rules.alarms, lambda r: r.pop("DlqAlarm"), "JobsDlq"),
    (rules.alarms, lambda r: r.pop("LagAlarm"), "issuance-lag"),
    (rules.alarms, lambda r: r.pop("IntegrityAlarm"), "CheckArchive"),
    (rules.alarms, lambda r: r.pop("ReconcileAlarm"), "ReconcileStatements"),
    (rules.alarms, lambda r: r.pop("ReportAlarm"), "WeeklyReport"),
    (rules.alarms, lambda r: r.pop("ApiAlarm"), "5xx"),
    (rules.alarms, lambda r: r.pop("MerchantChecksAlarm"), "MerchantChecks"),
    (rules.alarms, lambda r: r.pop("MerchantsDueAlarm"), "expiring merchant credential"),
    (rules.alarms, lambda r: r["MerchantsDueAlarm"]["Properties"].update(
        Dimensions=[{"Name": "Stage", "Value": "test"}]), "expiring merchant credential"),
])
def test_a_rule_names_the_way_the_template_breaks_it(rule, change, named):
    violations = rule(broken(change))
    assert violations and any(named in v for v in violations), violations
