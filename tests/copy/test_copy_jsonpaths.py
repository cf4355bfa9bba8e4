"""JSONPaths expressions and files (pure)."""

from __future__ import annotations

import pytest

from sparkify.copy.jsonpaths import JsonPathsError, parse_expression, parse_jsonpaths_file


@pytest.mark.parametrize("expr, path", [
    ("$['artist']", ("artist",)),
    ('$["artist"]', ("artist",)),
    ("$.artist", ("artist",)),
    ("$.a.b.c", ("a", "b", "c")),
    ("$['a']['b c']", ("a", "b c")),
    ("$.a[0]", ("a", 0)),
    ("$['a'][12].b", ("a", 12, "b")),
    ("$[0]", (0,)),
    ("$[0][1]", (0, 1)),
    ("$['user.name']", ("user.name",)),
    ("  $.a  ", ("a",)),
])
def test_parse_expression(expr, path):
    assert parse_expression(expr) == path


@pytest.mark.parametrize("expr", ["artist", "$", "$.a.*", "$..a", "$.a[*]", "$.a[?(@.b)]", "$.a[0:2]", "$['a",
                                  "$.", "$[a]", 5, "$['a'] x"])
def test_parse_expression_rejects(expr):
    with pytest.raises(JsonPathsError):
        parse_expression(expr)


def test_parse_file_real_shape():
    data = b'{\n  "jsonpaths": [\n    "$[\'artist\']",\n    "$.auth",\n    "$.user.id"\n  ]\n}'
    assert parse_jsonpaths_file(data, "x.json") == [("artist",), ("auth",), ("user", "id")]


def test_parse_file_with_bom():
    assert parse_jsonpaths_file(b'\xef\xbb\xbf{"jsonpaths": ["$.a"]}', "x.json") == [("a",)]


def test_file_without_jsonpaths_member_means_auto():
    assert parse_jsonpaths_file(b'{"paths": ["$.a"]}', "x.json") is None


@pytest.mark.parametrize("data, message", [
    (b'{"jsonpaths": ["$.a",]', "is not valid JSON"),
    (b'["$.a"]', "must hold one JSON object"),
    (b'{"jsonpaths": "$.a"}', "non-empty array"),
    (b'{"jsonpaths": []}', "non-empty array"),
    (b'{"jsonpaths": ["$.a", "$..b"]}', "Invalid JSONPath format"),
])
def test_parse_file_errors_name_the_file(data, message):
    with pytest.raises(JsonPathsError) as exc:
        parse_jsonpaths_file(data, "s3://b/paths.json")
    assert message in str(exc.value) and "s3://b/paths.json" in str(exc.value)
