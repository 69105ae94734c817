"""Reading JSON Lines and CSV feeds: origins, untouched bytes, typed CSV cells."""

import io

from streams.contract.acceptance import Rejection, check_event
from streams.feeds.files import read_csv, read_jsonl
from tests.unit.test_acceptance import NOW


def test_jsonl_records_keep_their_bytes_and_line_numbers():
    feed = b'{"a": 1}\r\nnot json\n\n{"b": 2}'
    records = list(read_jsonl(io.BytesIO(feed), "f.jsonl"))
    assert [r.origin for r in records] == ["f.jsonl:1", "f.jsonl:2", "f.jsonl:3", "f.jsonl:4"]
    assert [r.raw for r in records] == [b'{"a": 1}', b"not json", b"", b'{"b": 2}']
    assert records[0].parsed == {"a": 1} and records[3].parsed == {"b": 2}
    assert all(isinstance(r.parsed, Rejection) for r in records[1:3])


HEADER = b"event_id,event_type,schema_version,project_id,occurred_at,name,industry,lead_industry,investment_wan\n"


def test_csv_rows_become_typed_events_that_pass_the_contract():
    row = b'e-1,project_planned,1,P-1,2023-03-01T09:30:00+08:00,"Outlets, Erqi",\xe7\x8e\xb0\xe4\xbb\xa3\xe5\x95\x86\xe8\xb4\xb8,true,20000.5\n'
    [record] = read_csv(io.BytesIO(HEADER + row), "f.csv")
    assert record.origin == "f.csv:2" and not record.is_json and record.raw == row.rstrip(b"\n")
    assert record.parsed["schema_version"] == 1 and record.parsed["lead_industry"] is True
    assert record.parsed["investment_wan"] == 20000.5 and record.parsed["name"] == "Outlets, Erqi"
    assert not isinstance(check_event(record.parsed, NOW), Rejection)


def test_csv_empty_cells_are_absent_and_bad_types_stay_text_for_the_schema_check():
    row = b"e-1,project_planned,two,P-1,2023-03-01T09:30:00+08:00,n,i,,\n"
    [record] = read_csv(io.BytesIO(HEADER + row), "f.csv")
    assert "lead_industry" not in record.parsed and record.parsed["schema_version"] == "two"
    assert check_event(record.parsed, NOW).reason == "schema"


def test_csv_rows_with_the_wrong_number_of_cells_are_malformed():
    rows = [b"e-1,project_planned,2\n", b"a,b,c,d,e,f,g,h,i,j\n", b'"unterminated,quote\n', b"\xff,x\n"]
    records = list(read_csv(io.BytesIO(HEADER + b"".join(rows)), "f.csv"))
    assert [r.parsed.reason for r in records] == ["malformed"] * 4
    assert "cells" in records[0].parsed.detail
