"""Documents in DynamoDB rows are stored as compact UTF-8 JSON (every byte of a row is paid for
on each write), and rows written before, in pynamodb's spaced and escaped JSON, read the same."""

from __future__ import annotations

import json

from chalicelib.adapters.dynamo_models import CompactJSONAttribute

DOC = {"payer": {"name": "张三", "phone": None}, "items": [{"name": "不动产登记费（住宅）",
                                                            "amount_fen": 8000}]}


def test_a_document_is_stored_as_utf8_without_escapes_or_spaces():
    text = CompactJSONAttribute().serialize(DOC)
    assert text == ('{"payer":{"name":"张三","phone":null},'
                    '"items":[{"name":"不动产登记费（住宅）","amount_fen":8000}]}')
    assert len(text.encode()) < len(json.dumps(DOC).encode()) * 3 // 4


def test_a_document_written_in_the_older_form_reads_the_same():
    older = json.dumps(DOC)  # what pynamodb's JSONAttribute wrote: "\u5f20\u4e09", ", "
    assert "\\u5f20" in older
    assert CompactJSONAttribute().deserialize(older) == DOC
    assert CompactJSONAttribute().deserialize(CompactJSONAttribute().serialize(DOC)) == DOC
