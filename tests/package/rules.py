"""Rules over the packaged CloudFormation template (``build/package/sam.json``).

Each rule takes the template (a dict) and returns a list of violations (strings naming where);
an empty list means the rule holds. ``tests/package`` runs them over the real package,
``tests/unit/test_template_rules.py`` shows each one catching what it is meant to catch.

What the China regions lack (``/work/shared/reference/china-regions.md`` §1, from the AWS China
user guide, docs.amazonaws.cn/en_us/aws/latest/userguide/):
  * API Gateway: no edge-optimized APIs or custom domains (REGIONAL or PRIVATE only), no Cognito
    authorizers [api-gateway.html]; Chalice defaults to EDGE [chalice configfile.rst].
  * ARNs: partition ``aws-cn``; a hard-coded ``arn:aws:`` fails (MalformedPolicyDocument) [ARNs.html].
  * CloudFront: ``*.cloudfront.cn`` cannot serve without an ICP-filed domain [cloudfront.html].
  * Lambda: no X-Ray (active tracing), no Function URLs, no SnapStart, no CMK-encrypted .zip, no
    S3 destinations [lambda.md].
  * SNS: no SMS, no mobile push [sns.md]; SQS: no dead-letter-queue redrive [sqs.html].
  * Cognito: not offered (no Cognito authorizers in API Gateway) [api-gateway.html].
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

Template = dict[str, Any]

ABSENT_TYPES = {
    "AWS::CloudFront::": "CloudFront cannot serve *.cloudfront.cn without an ICP-filed domain",
    "AWS::Cognito::": "no Cognito (user pools / authorizers) in API Gateway China",
    "AWS::XRay::": "no X-Ray in the China regions' Lambda",
    "AWS::Lambda::Url": "no Lambda Function URLs in the China regions",
}
ABSENT_ACTIONS = {
    "sqs:StartMessageMoveTask": "no dead-letter-queue redrive in SQS China",
    "sns:CreatePlatformApplication": "no SNS mobile push in China",
}
WRITE_ACTIONS = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                 "dynamodb:BatchWriteItem", "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate",
                 "dynamodb:PartiQLDelete", "dynamodb:*", "*"}
AUDIT_FORBIDDEN = WRITE_ACTIONS - {"dynamodb:PutItem", "dynamodb:PartiQLInsert"}
SIGN_ACTIONS = {"kms:Sign", "kms:*", "*"}
WILDCARD_SERVICES = ("sns:", "s3:", "dynamodb:")
ACCOUNT_LAMBDA_CONCURRENCY = 1000  # the default account limit; 100 must stay unreserved
UNRESERVED_MINIMUM = 100


def resources(t: Template, type_prefix: str = "") -> Iterator[tuple[str, dict]]:
    for name, res in t.get("Resources", {}).items():
        if res.get("Type", "").startswith(type_prefix):
            yield name, res


def _strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _strings(v, f"{path}/{i}")


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _refers_to(resource: Any, logical_id: str) -> bool:
    """True when a policy Resource entry names ``logical_id`` (GetAtt, Ref or Sub)."""
    text = json.dumps(resource)
    return (f'["{logical_id}", ' in text or f'"Ref": "{logical_id}"' in text
            or "${" + logical_id + "." in text or "${" + logical_id + "}" in text)


def role_statements(t: Template) -> Iterator[tuple[str, dict]]:
    """(role name, statement) for every Allow statement of every IAM role or policy."""
    for name, res in resources(t, "AWS::IAM::"):
        props = res.get("Properties", {})
        docs = [p.get("PolicyDocument", {}) for p in props.get("Policies", [])]
        if "PolicyDocument" in props:
            docs.append(props["PolicyDocument"])
        for doc in docs:
            for st in _as_list(doc.get("Statement", [])):
                if st.get("Effect") == "Allow":
                    yield name, st


def function_roles(t: Template) -> dict[str, str]:
    """Function logical id → the logical id of its role."""
    out = {}
    for name, res in resources(t):
        if res["Type"] in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            role = res["Properties"].get("Role", {})
            out[name] = role.get("Fn::GetAtt", [None])[0] if isinstance(role, dict) else role
    return out


def function_by_handler(t: Template, handler: str) -> str:
    for name, res in resources(t):
        if res.get("Properties", {}).get("Handler") == handler:
            return name
    raise KeyError(handler)


# ---------------------------------------------------------------------------------------------
# Deployability in the China regions


def edge_endpoints(t: Template) -> list[str]:
    out = []
    for name, res in resources(t):
        props = res.get("Properties", {})
        if res["Type"] == "AWS::Serverless::Api":
            conf = props.get("EndpointConfiguration", "EDGE")  # SAM's default is EDGE
            kind = conf.get("Type", "EDGE") if isinstance(conf, dict) else conf
            if kind not in ("REGIONAL", "PRIVATE"):
                out.append(f"{name}: endpoint {kind} (China: REGIONAL or PRIVATE only)")
        elif res["Type"] in ("AWS::ApiGateway::RestApi", "AWS::ApiGateway::DomainName"):
            kinds = props.get("EndpointConfiguration", {}).get("Types", ["EDGE"])
            if any(k not in ("REGIONAL", "PRIVATE") for k in kinds):
                out.append(f"{name}: endpoint {kinds} (China: REGIONAL or PRIVATE only)")
    return out


def hard_coded_partition(t: Template) -> list[str]:
    return [f"{path}: {value[:80]}" for path, value in _strings(t) if "arn:aws:" in value]


def absent_in_china(t: Template) -> list[str]:
    out = []
    for name, res in resources(t):
        kind, props = res["Type"], res.get("Properties", {})
        out += [f"{name}: {kind}: {why}" for prefix, why in ABSENT_TYPES.items()
                if kind.startswith(prefix)]
        if kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            if props.get("Tracing") == "Active" or props.get("TracingConfig", {}).get("Mode") == "Active":
                out.append(f"{name}: X-Ray active tracing (no X-Ray in China Lambda)")
            if "FunctionUrlConfig" in props:
                out.append(f"{name}: Function URL (not in China)")
            if "SnapStart" in props:
                out.append(f"{name}: SnapStart (no Python SnapStart in China)")
            if "SourceKMSKeyArn" in json.dumps(props):
                out.append(f"{name}: CMK-encrypted .zip (not in China)")
            dest = json.dumps(props.get("EventInvokeConfig", {}))
            if '"Type": "S3"' in dest:
                out.append(f"{name}: S3 destination (not in China)")
        if kind == "AWS::Lambda::EventInvokeConfig" and ":s3:" in json.dumps(props):
            out.append(f"{name}: S3 destination (not in China)")
        if kind == "AWS::SNS::Subscription" and props.get("Protocol") in ("sms", "application"):
            out.append(f"{name}: SNS {props['Protocol']} (no SMS or mobile push in China)")
        if kind in ("AWS::ApiGateway::Authorizer",) and props.get("Type") == "COGNITO_USER_POOLS":
            out.append(f"{name}: Cognito authorizer (not in China)")
        if kind == "AWS::Serverless::Api":
            body = json.dumps(props.get("DefinitionBody", {})).lower()
            if "cognito_user_pools" in body:
                out.append(f"{name}: Cognito authorizer (not in China)")
    for role, st in role_statements(t):
        for action in _as_list(st.get("Action", [])):
            if action in ABSENT_ACTIONS:
                out.append(f"{role}: {action}: {ABSENT_ACTIONS[action]}")
    return out


# ---------------------------------------------------------------------------------------------
# Least privilege


def wildcard_resources(t: Template) -> list[str]:
    """No Allow of SNS, S3 or DynamoDB actions, nor kms:Sign, on Resource "*"; no service:*."""
    out = []
    for role, st in role_statements(t):
        actions = _as_list(st.get("Action", []))
        for action in actions:
            if action == "*" or (action.endswith(":*") and action.startswith(
                    WILDCARD_SERVICES + ("kms:",))):
                out.append(f"{role}: action {action}")
        if "*" in _as_list(st.get("Resource", [])):
            for action in actions:
                if action.startswith(WILDCARD_SERVICES) or action in SIGN_ACTIONS:
                    out.append(f"{role}: {action} on Resource *")
    return out


def one_role_per_function(t: Template) -> list[str]:
    roles = function_roles(t)
    seen: dict[str, str] = {}
    out = []
    for function, role in sorted(roles.items()):
        if role in seen:
            out.append(f"{function} shares {role} with {seen[role]}")
        seen.setdefault(role, function)
    return out


def table_access(t: Template, role: str, table: str) -> set[str]:
    """Every action ``role`` is allowed on ``table`` (the table itself or its indexes)."""
    actions: set[str] = set()
    for name, st in role_statements(t):
        if name == role and any(_refers_to(r, table) for r in _as_list(st.get("Resource", []))):
            actions.update(_as_list(st.get("Action", [])))
    return actions


def keys_and_audit(t: Template) -> list[str]:
    """No role writes the signing-keys table (the trust anchor of /v1/public/keys, written only
    by the operator's rotate-key); the audit log is append-only for every role."""
    out = []
    for role, _ in resources(t, "AWS::IAM::Role"):
        if written := table_access(t, role, "SigningKeysTable") & WRITE_ACTIONS:
            out.append(f"{role} writes SigningKeysTable: {sorted(written)}")
        if changed := table_access(t, role, "AuditTable") & AUDIT_FORBIDDEN:
            out.append(f"{role} changes AuditTable rows: {sorted(changed)}")
    return out


def finance_keys_read_only(t: Template) -> list[str]:
    """No role writes the finance keys table: finance keys are made by the operator's
    create-finance-key only, so no request, however crafted, can mint one."""
    return [f"{role} writes FinanceKeysTable: {sorted(written)}"
            for role, _ in resources(t, "AWS::IAM::Role")
            if (written := table_access(t, role, "FinanceKeysTable") & WRITE_ACTIONS)]


def issuing_roles(t: Template) -> set[str]:
    roles = function_roles(t)
    return {roles[function_by_handler(t, h)]
            for h in ("app.issue_bill", "app.reverse_bill_function")}


def signing_keys_sign_only_for_issuers(t: Template) -> list[str]:
    """Signing keys' policies allow Sign only to the issuing roles; no other role may Sign."""
    out = []
    issuers = issuing_roles(t)
    for name, res in resources(t, "AWS::KMS::Key"):
        if res["Properties"].get("KeyUsage") != "SIGN_VERIFY":
            continue
        for st in _as_list(res["Properties"].get("KeyPolicy", {}).get("Statement", [])):
            actions = set(_as_list(st.get("Action", [])))
            if st.get("Effect") != "Allow" or not (actions & SIGN_ACTIONS
                                                    or any(a.startswith("kms:Sign") for a in actions)):
                continue
            principals = _as_list(st.get("Principal", {}).get("AWS", "*")
                                  if isinstance(st.get("Principal"), dict) else st.get("Principal"))
            for principal in principals:
                role = principal.get("Fn::GetAtt", [None])[0] if isinstance(principal, dict) else None
                if role not in issuers:
                    out.append(f"{name}: {sorted(actions)} allowed to {json.dumps(principal)}")
    for role, st in role_statements(t):
        if role not in issuers and set(_as_list(st.get("Action", []))) & SIGN_ACTIONS:
            out.append(f"{role} may kms:Sign")
    return out


def point_in_time_recovery(t: Template) -> list[str]:
    return [f"{name}: no PITR" for name, res in resources(t, "AWS::DynamoDB::Table")
            if res["Properties"].get("PointInTimeRecoverySpecification", {})
            .get("PointInTimeRecoveryEnabled") is not True]


def tls_only_buckets(t: Template) -> list[str]:
    out = []
    policies = [res["Properties"] for _, res in resources(t, "AWS::S3::BucketPolicy")]
    for name, res in resources(t, "AWS::S3::Bucket"):
        if res["Type"] != "AWS::S3::Bucket":
            continue
        denies = [st for p in policies if p.get("Bucket") == {"Ref": name}
                  for st in _as_list(p["PolicyDocument"].get("Statement", []))
                  if st.get("Effect") == "Deny" and st.get("Principal") in ("*", {"AWS": "*"})
                  and "s3:*" in _as_list(st.get("Action"))
                  and st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")
                  in ("false", False)]
        covers = any(any(_refers_to(r, name) and "/*" in json.dumps(r) for r in _as_list(st["Resource"]))
                     and any(r == {"Fn::GetAtt": [name, "Arn"]} for r in _as_list(st["Resource"]))
                     for st in denies)
        if not covers:
            out.append(f"{name}: no TLS-only bucket policy over the bucket and its objects")
    return out


# ---------------------------------------------------------------------------------------------
# Callbacks apart, alarms


def callbacks_apart(t: Template) -> list[str]:
    out = []
    callbacks = function_by_handler(t, "app.callbacks_function")
    props = t["Resources"][callbacks]["Properties"]
    if not props.get("ReservedConcurrentExecutions"):
        out.append(f"{callbacks}: no reserved concurrency")
    api = next(res for _, res in resources(t, "AWS::Serverless::Api"))
    for path, methods in api["Properties"]["DefinitionBody"]["paths"].items():
        if path.startswith("/callbacks/"):
            for method, op in methods.items():
                uri = json.dumps(op.get("x-amazon-apigateway-integration", {}).get("uri"))
                if "${" + callbacks + ".Arn}" not in uri:
                    out.append(f"{method.upper()} {path} is not served by {callbacks}")
    permitted = [res for _, res in resources(t, "AWS::Lambda::Permission")
                 if res["Properties"].get("FunctionName") == {"Ref": callbacks}]
    if not permitted:
        out.append(f"API Gateway may not invoke {callbacks}")
    reserved = sum(res["Properties"].get("ReservedConcurrentExecutions", 0)
                   for _, res in resources(t, "AWS::Serverless::Function"))
    if reserved > ACCOUNT_LAMBDA_CONCURRENCY - UNRESERVED_MINIMUM:
        out.append(f"{reserved} reserved executions: over the account's default "
                   f"{ACCOUNT_LAMBDA_CONCURRENCY} minus {UNRESERVED_MINIMUM} unreserved")
    return out


def _alarms(t: Template) -> list[dict]:
    return [res["Properties"] for _, res in resources(t, "AWS::CloudWatch::Alarm")]


def _alarm_on(t: Template, metric: str, dimension: Any, threshold_at_most: float) -> bool:
    return any(a["MetricName"] == metric and a.get("AlarmActions")
               and any(d["Value"] == dimension for d in a.get("Dimensions", []))
               and a["ComparisonOperator"] == "GreaterThanThreshold"
               and float(a["Threshold"]) <= threshold_at_most for a in _alarms(t))


def alarms(t: Template) -> list[str]:
    out = []
    dead_letter_queues = {st["deadLetterTargetArn"]["Fn::GetAtt"][0]
                          for _, res in resources(t, "AWS::SQS::Queue")
                          if (st := res["Properties"].get("RedrivePolicy"))}
    for dlq in sorted(dead_letter_queues):
        if not _alarm_on(t, "ApproximateNumberOfMessagesVisible",
                         {"Fn::GetAtt": [dlq, "QueueName"]}, 0):
            out.append(f"no alarm on {dlq} depth > 0")
    if not _alarm_on(t, "ApproximateAgeOfOldestMessage",
                     {"Fn::GetAtt": ["IssueBillQueue", "QueueName"]}, 900):
        out.append("no issuance-lag alarm (age of the oldest bill job)")
    for job in ("check_archive", "reconcile_statements", "weekly_report",
                "check_merchant_credentials"):
        function = function_by_handler(t, f"app.{job}")
        if not _alarm_on(t, "Errors", {"Ref": function}, 0):
            out.append(f"no alarm on {function} failures")
    if not _alarm_on(t, "5XXError", "fiscal-bills", 0.1):
        out.append("no API 5xx-rate alarm")
    if not _alarm_on(t, "MerchantCredentialsDue", "prod", 0):
        out.append("no alarm on units with an expiring merchant credential")
    return out


ALL_RULES = (edge_endpoints, hard_coded_partition, absent_in_china, wildcard_resources,
             one_role_per_function, keys_and_audit, finance_keys_read_only,
             signing_keys_sign_only_for_issuers,
             point_in_time_recovery, tls_only_buckets, callbacks_apart, alarms)
