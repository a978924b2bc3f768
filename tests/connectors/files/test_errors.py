"""How unreadable files are reported: the line of the first JSON syntax error."""

from __future__ import annotations

from connectors.files.errors import json_error_line


def test_json_error_line_finds_the_bad_line_of_a_newline_delimited_file(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2}\n{"a": 3,,}\n{"a": 4}\n')
    line, reason = json_error_line(path)
    assert line == 4
    assert "property name" in reason


def test_json_error_line_finds_the_bad_line_of_an_array_file(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('[\n  {"a": 1},\n  {"a": 2\n  {"a": 3}\n]\n')
    assert json_error_line(path)[0] == 4


def test_json_error_line_accepts_values_spanning_lines(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"a": 1,\n "b": [1,\n 2]}\n{"a": 2}\n')
    assert json_error_line(path) is None
