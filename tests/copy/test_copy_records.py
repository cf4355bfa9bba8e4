"""Splitting data files into records when a line is not one JSON object (records.Recovery), pure."""

from __future__ import annotations

import pytest

from sparkify.copy.records import MAX_OBJECT_BYTES, Malformed, ObjectTooLarge, Recovery


def recover(text: bytes, acceptinvchars=None, first_line=True):
    lines = text.splitlines(keepends=True)
    it = iter(lines[1:])
    rec = Recovery(acceptinvchars)
    found, consumed = rec.recover(lines[0], 1, it, first_line)
    rest = list(it)
    return [(f.lineno, f.value if not isinstance(f.value, Malformed) else "BAD") for f in found], consumed, rest, rec


def test_pretty_printed_object_spans_lines():
    found, consumed, rest, _ = recover(b'{\n "a": 1,\n "b": [1,\n 2]\n}\n{"c": 3}\n')
    assert found == [(1, {"a": 1, "b": [1, 2]})] and consumed == 4 and rest == [b'{"c": 3}\n']


def test_value_closing_mid_line_continues_on_that_line():
    found, consumed, _, _ = recover(b'{"a":\n 1} {"b": 2}\n')
    assert found == [(1, {"a": 1}), (2, {"b": 2})] and consumed == 1


def test_several_values_and_garbage_on_one_line():
    assert recover(b'{"a": 1} {"b": 2}\n')[0] == [(1, {"a": 1}), (1, {"b": 2})]
    assert recover(b'{"a": 1} xyz\n')[0] == [(1, {"a": 1}), (1, "BAD")]
    assert recover(b'{"a": 1},\n')[0] == [(1, {"a": 1}), (1, "BAD")]


def test_truncated_object_resyncs_at_a_complete_line():
    found, consumed, rest, _ = recover(b'{"a": {"b": 1}\n{"c": 2}\n{"d": 3}\n')
    assert found == [(1, "BAD"), (2, {"c": 2})] and consumed == 1 and rest == [b'{"d": 3}\n']


def test_truncated_at_end_of_file():
    found, consumed, _, _ = recover(b'{"a": [1,\n 2,\n')
    assert found == [(1, "BAD")] and consumed == 1


def test_unterminated_string_is_one_bad_line():
    found, consumed, rest, _ = recover(b'{"a": "x\n{"b": 1}\n')
    assert found == [(1, "BAD")] and consumed == 0 and rest == [b'{"b": 1}\n']


def test_brackets_inside_strings_are_ignored():
    found, _, _, _ = recover(b'{"a": "}{][\\"",\n "b": 1}\n')
    assert found == [(1, {"a": '}{]["', "b": 1})]


def test_bom_only_on_the_first_line():
    assert recover(b'\xef\xbb\xbf{"a": 1}\n')[0] == [(1, {"a": 1})]
    assert recover(b'\xef\xbb\xbf{"a": 1}\n', first_line=False)[0] == [(1, "BAD")]


def test_blank_lines_are_skipped():
    assert recover(b"  \t \r\n")[0] == []


def test_invalid_utf8_is_kept_as_surrogates_or_replaced():
    assert recover(b'{"a": "\xff"}\n')[0] == [(1, {"a": "\udcff"})]
    assert recover(b'{"a": "\xffb"}\n', acceptinvchars="?")[0] == [(1, {"a": "?b"})]
    assert recover(b'{"a": "\xe2\x82"}\n', acceptinvchars="^")[0] == [(1, {"a": "^^"})]


def test_nan_and_infinity_are_not_json():
    assert recover(b'{"a": NaN}\n')[0] == [(1, "BAD")]


def test_object_over_4_mb():
    with pytest.raises(ObjectTooLarge) as exc:
        recover(b'{"a": "' + b"x" * MAX_OBJECT_BYTES + b'"} {}\n')
    assert exc.value.lineno == 1
    with pytest.raises(ObjectTooLarge):
        recover(b'{\n"a": "' + b"x" * MAX_OBJECT_BYTES + b'"\n}\n')
