"""A sample bill for each built-in bill template: its kind, items, total and extra fields, as a
unit would send them (``POST /v1/bills``). The tests, the screenshots and the local stack's demo
draw the same bills."""

from __future__ import annotations

from typing import Any

# template id -> the request's fields that differ by template (kind, items, total, extra)
SAMPLES: dict[str, dict[str, Any]] = {
    "nontax-general": {
        "bill_kind": "0301",
        "items": [{"item_code": "103050101001", "name": "机动车违法停车罚款", "unit": "次",
                   "quantity": "1", "standard_fen": 20000, "amount_fen": 20000}],
        "total_fen": 20000, "extra": {},
    },
    "settlement-receipt": {
        "bill_kind": "0401",
        "items": [{"item_code": "WL0001", "name": "会议场地押金", "unit": "笔", "quantity": "1",
                   "standard_fen": 500000, "amount_fen": 500000}],
        "total_fen": 500000,
        "extra": {"settlement_nature": "押金", "settlement_purpose": "2026年度财务工作会议场地押金",
                  "refund_due_date": "2026-06-15"},
    },
    "donation-receipt": {
        "bill_kind": "0501",
        "items": [{"item_code": "JZ0001", "name": "助学金捐款", "unit": "元", "quantity": "1",
                   "standard_fen": 100000, "amount_fen": 100000}],
        "total_fen": 100000,
        "extra": {"donation_project": "2026年春蕾助学计划", "donation_form": "货币",
                  "donation_purpose": "资助贫困学生完成学业"},
    },
    "medical-outpatient": {
        "bill_kind": "0601",
        "items": [{"item_code": "0801", "name": "诊察费", "unit": "次", "quantity": "1",
                   "standard_fen": 2500, "amount_fen": 2500},
                  {"item_code": "0804", "name": "治疗费", "unit": "项", "quantity": "2",
                   "standard_fen": 6000, "amount_fen": 12000},
                  {"item_code": "0901", "name": "西药费", "unit": "盒", "quantity": "3",
                   "standard_fen": 1850, "amount_fen": 5550}],
        "total_fen": 20050,
        "extra": {"outpatient_number": "MZ20260615001", "visit_date": "2026-06-15",
                  "insurance_type": "职工基本医疗保险", "insurance_number": "34010019800101",
                  "institution_type": "综合医院", "fund_paid_fen": 12030,
                  "self_paid_fen": 8020},
    },
    "medical-inpatient": {
        "bill_kind": "0602",
        "items": [{"item_code": "0701", "name": "床位费", "unit": "日", "quantity": "9",
                   "standard_fen": 6000, "amount_fen": 54000},
                  {"item_code": "0805", "name": "手术费", "unit": "次", "quantity": "1",
                   "standard_fen": 380000, "amount_fen": 380000},
                  {"item_code": "0806", "name": "卫生材料费", "unit": "项", "quantity": "1",
                   "standard_fen": 86000, "amount_fen": 86000}],
        "total_fen": 520000,
        "extra": {"inpatient_number": "ZY2026000123", "department": "普通外科",
                  "admitted_on": "2026-06-01", "discharged_on": "2026-06-10",
                  "insurance_type": "城乡居民基本医疗保险",
                  "insurance_number": "34010020010203",
                  "institution_type": "综合医院", "fund_paid_fen": 312000,
                  "self_paid_fen": 208000, "prepaid_fen": 300000, "refund_fen": 92000},
    },
}
