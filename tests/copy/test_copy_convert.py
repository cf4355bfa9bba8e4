"""Each column converter against Redshift's documented COPY rules (pure)."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from sparkify.copy.convert import (
    NULL,
    EpochFormatter,
    Options,
    Reject,
    column_from_catalog,
    make_converter,
    truncate_utf8,
    utf8_problem,
)

DEFAULT = Options(truncatecolumns=False, blanksasnull=False, emptyasnull=False)
PIPELINE = Options(timeformat="epochmillisecs", truncatecolumns=True, blanksasnull=True, emptyasnull=True)


def conv(type_text: str, value, opts: Options = PIPELINE):
    return make_converter(column_from_catalog("c", type_text), opts)(value)


def rejected(type_text: str, value, opts: Options = PIPELINE) -> Reject:
    with pytest.raises(Reject) as exc:
        conv(type_text, value, opts)
    return exc.value


# --------------------------------------------------------------------------- integers
@pytest.mark.parametrize("type_text, value, expected", [
    ("integer", 5, "5"),
    ("integer", -2147483648, "-2147483648"),
    ("integer", 2147483647, "2147483647"),
    ("integer", "39", "39"),  # real userId values are JSON strings
    ("integer", "+7", "7"),
    ("integer", "-007", "-7"),
    ("integer", "", NULL),  # empty fields load NULL into non-character columns
    ("integer", "   ", NULL),  # so do blank ones
    ("smallint", 32767, "32767"),
    ("smallint", "-32768", "-32768"),
    ("bigint", 9223372036854775807, "9223372036854775807"),
    ("bigint", "1541105830796", "1541105830796"),
])
def test_integers(type_text, value, expected):
    assert conv(type_text, value) == expected


@pytest.mark.parametrize("type_text, value, code, reason", [
    ("integer", "abc", 1207, "Invalid digit, Value 'a', Pos 0, Type: Integer"),
    ("integer", "12a", 1207, "Invalid digit, Value 'a', Pos 2, Type: Integer"),
    ("integer", " 5", 1207, "Invalid digit, Value ' ', Pos 0, Type: Integer"),
    ("integer", "5 ", 1207, "Invalid digit, Value ' ', Pos 1, Type: Integer"),
    ("integer", 3.0, 1207, "Invalid digit, Value '.', Pos 1, Type: Integer"),  # floats are not integers
    ("integer", "3.5", 1207, "Invalid digit, Value '.', Pos 1, Type: Integer"),
    ("bigint", 1540919166796.0, 1207, "Invalid digit, Value '.', Pos 13, Type: Long"),
    ("integer", "1-2", 1207, "Invalid digit, Value '-', Pos 1, Type: Integer"),
    ("integer", True, 1207, "Invalid digit, Value 't', Pos 0, Type: Integer"),
    ("integer", {"a": 1}, 1207, "Invalid digit, Value '{', Pos 0, Type: Integer"),
    ("integer", [1], 1207, "Invalid digit, Value '[', Pos 0, Type: Integer"),
    ("integer", "٣", 1207, "Invalid digit, Value '٣', Pos 0, Type: Integer"),  # a non-ASCII digit
    ("integer", 2147483648, 1207, "Overflow (Integer valid range -2147483648 to 2147483647)"),
    ("integer", "-2147483649", 1207, "Overflow (Integer valid range -2147483648 to 2147483647)"),
    ("smallint", 32768, 1207, "Overflow (Short valid range -32768 to 32767)"),
    ("bigint", 2**63, 1207, "Overflow (Long valid range -9223372036854775808 to 9223372036854775807)"),
])
def test_integer_rejections(type_text, value, code, reason):
    r = rejected(type_text, value)
    assert (r.err_code, r.reason) == (code, reason)


# --------------------------------------------------------------------------- floating point, numeric
@pytest.mark.parametrize("type_text, value, expected", [
    ("double precision", 246.30812, "246.30812"),
    ("double precision", 1540919166796.0, "1540919166796.0"),
    ("double precision", 5, "5.0"),
    ("double precision", "1.5", "1.5"),
    ("double precision", "-1e3", "-1000.0"),
    ("double precision", ".5", "0.5"),
    ("double precision", "", NULL),
    ("real", 1.5, "1.5"),
    ("real", "3.4e38", "3.4e+38"),
    ("numeric(10,2)", "12.345", "12.34"),  # COPY truncates to the column's scale (ROUNDEC would round)
    ("numeric(10,2)", -1.999, "-1.99"),
    ("numeric(10,2)", 7, "7.00"),
    ("numeric", "1e-3", "0.001"),
])
def test_floats_and_numeric(type_text, value, expected):
    assert conv(type_text, value) == expected


@pytest.mark.parametrize("type_text, value, reason", [
    ("double precision", "abc", "Invalid digit, Value 'a', Pos 0, Type: Double"),
    ("double precision", "1,5", "Invalid digit, Value ',', Pos 1, Type: Double"),
    ("double precision", "NaN", "Invalid digit, Value 'N', Pos 0, Type: Double"),
    ("double precision", "1e400", "Overflow (Double range)"),
    ("double precision", 10**400, "Overflow (Double range)"),
    ("double precision", "1e-400", "Underflow (Double range)"),
    ("real", 1e39, "Overflow (Float range)"),
    ("real", 1e-50, "Underflow (Float range)"),
    ("numeric(4,2)", "123.4", "Numeric data overflow (result precision)"),
    ("numeric(10,2)", "x", "Invalid digit, Value 'x', Pos 0, Type: Numeric"),
])
def test_float_rejections(type_text, value, reason):
    r = rejected(type_text, value)
    assert r.err_code == 1207 and r.reason == reason


# --------------------------------------------------------------------------- booleans
@pytest.mark.parametrize("value, expected", [
    (True, "t"), (False, "f"), (1, "t"), (0, "f"), ("true", "t"), ("FALSE", "f"), ("t", "t"), ("yes", "t"),
    ("n", "f"), ("1", "t"), ("0", "f"), ("", NULL),
])
def test_booleans(value, expected):
    assert conv("boolean", value) == expected


@pytest.mark.parametrize("value", [2, "maybe", 1.0, {"a": 1}])
def test_boolean_rejections(value):
    assert rejected("boolean", value).err_code == 1210


# --------------------------------------------------------------------------- timestamps
@pytest.mark.parametrize("ms, expected", [
    (1541105830796, "2018-11-01 20:57:10.796"),
    ("1541105830796", "2018-11-01 20:57:10.796"),
    (0, "1970-01-01 00:00:00.000"),
    (-1, "1969-12-31 23:59:59.999"),
    (951782400000, "2000-02-29 00:00:00.000"),
    (-62135596800000, "0001-01-01 00:00:00.000"),
    (-62135596800001, "0001-12-31 23:59:59.999 BC"),
    (253402300799999, "9999-12-31 23:59:59.999"),
    (253402300800000, "10000-01-01 00:00:00.000"),
    (9224318015999999, "294276-12-31 23:59:59.999"),
    (-210866803200000, "4714-11-24 00:00:00.000 BC"),
])
def test_epochmillisecs_exact(ms, expected):
    assert conv("timestamp without time zone", ms) == expected


def test_epochmillisecs_matches_datetime_arithmetic():
    rnd = random.Random(7)
    fmt = EpochFormatter()
    epoch = dt.datetime(1970, 1, 1)
    for _ in range(2000):
        ms = rnd.randint(-62_135_596_800_000, 253_402_300_799_999)
        ref = epoch + dt.timedelta(milliseconds=ms)
        assert fmt(ms) == (f"{ref.year:04d}-{ref.month:02d}-{ref.day:02d} {ref.hour:02d}:{ref.minute:02d}:"
                           f"{ref.second:02d}.{ref.microsecond // 1000:03d}")


def test_epochmillisecs_every_second_of_a_day():
    """The formatter's table of a day's seconds, whole: each second of 2018-11-01, with a different millisecond each."""
    fmt = EpochFormatter()
    day = dt.datetime(2018, 11, 1)
    start = int((day - dt.datetime(1970, 1, 1)).total_seconds()) * 1000
    for second in range(86_400):
        ref = day + dt.timedelta(seconds=second, milliseconds=second % 1000)
        assert fmt(start + second * 1000 + second % 1000) == ref.strftime("%Y-%m-%d %H:%M:%S.") + f"{second % 1000:03d}"


@pytest.mark.parametrize("value", [1541105830796.0, "1541105830796.0", "abc", 10**20, True, " 1",
                                   -210866803200001, 9224318016000000])
def test_epochmillisecs_rejections(value):
    r = rejected("timestamp without time zone", value)
    assert (r.err_code, r.reason) == (1206, "Invalid timestamp format or value [epochmillisecs]")


def test_epochsecs():
    opts = Options(timeformat="epochsecs")
    assert conv("timestamp without time zone", 1541105830, opts) == "2018-11-01 20:57:10.000"


@pytest.mark.parametrize("value, expected", [
    ("2018-11-01 20:57:10", "2018-11-01 20:57:10"),
    ("2018-11-01T20:57:10.123", "2018-11-01 20:57:10.123"),
    ("2018-11-01", "2018-11-01 00:00:00"),
    ("", NULL),
])
def test_default_timestamp_format(value, expected):
    assert conv("timestamp without time zone", value, DEFAULT) == expected


@pytest.mark.parametrize("value", ["2018-02-30 00:00:00", "2018-11-01 24:00:00", "01/11/2018", 1541105830796])
def test_default_timestamp_rejections(value):
    r = rejected("timestamp without time zone", value, DEFAULT)
    assert (r.err_code, r.reason) == (1206, "Invalid timestamp format or value [YYYY-MM-DD HH24:MI:SS]")


def test_timestamptz_and_date():
    assert conv("timestamp with time zone", 0) == "1970-01-01 00:00:00.000+00"
    assert conv("date", 1541105830796) == "2018-11-01"
    assert conv("date", "2018-11-01", DEFAULT) == "2018-11-01"
    assert rejected("date", "2018-11-31", DEFAULT).err_code == 1205


def test_unsupported_timeformat():
    with pytest.raises(ValueError, match="not supported by the emulator"):
        conv("timestamp without time zone", 1, Options(timeformat="YYYY-MM-DD"))


# --------------------------------------------------------------------------- character types
@pytest.mark.parametrize("value, opts, expected", [
    ("abc", PIPELINE, "abc"),
    ("", PIPELINE, NULL),  # EMPTYASNULL
    ("", DEFAULT, ""),
    ("   ", PIPELINE, NULL),  # BLANKSASNULL
    (" \t ", PIPELINE, NULL),
    ("   ", DEFAULT, "   "),
    (" a ", PIPELINE, " a "),
    ("abcdefgh", DEFAULT, "abcdefgh"),  # exactly 8 bytes
    ("abcdefghi", PIPELINE, "abcdefgh"),  # TRUNCATECOLUMNS
    ("ééééé", PIPELINE, "éééé"),  # 10 bytes -> 8
    ("aéééé", PIPELINE, "aééé"),  # 9 bytes: cutting at 8 would split an é -> 7 bytes
    ("abcdefg€", PIPELINE, "abcdefg"),  # a 3-byte character at the boundary
    ("😀😀😀", PIPELINE, "😀😀"),  # 4-byte characters
    (5, PIPELINE, "5"),  # numbers and booleans load as their JSON text
    (-1.5, PIPELINE, "-1.5"),
    (True, PIPELINE, "true"),
    ([1, 2], PIPELINE, "[1,2]"),  # arrays and objects as compact JSON
    ("a\tb", PIPELINE, "a\\tb"),  # COPY text escapes
    ("a\\b", PIPELINE, "a\\\\b"),
    ("a\nb\rc", PIPELINE, "a\\nb\\rc"),
    ("a\x02b", PIPELINE, "a\x02b"),
    ("\x02", DEFAULT, "\\x02"),  # a value equal to the NULL marker
])
def test_varchar8(value, opts, expected):
    assert conv("character varying(8)", value, opts) == expected


def test_nested_object_into_varchar_is_compact_json():
    assert conv("character varying(64)", {"a": [1, {"b": None}], "c": "é"}) == '{"a":[1,{"b":null}],"c":"é"}'
    assert conv("character varying(64)", {"x": "a\tb"}) == '{"x":"a\\\\tb"}'  # JSON escape, then COPY escape


@pytest.mark.parametrize("value", ["abcdefghi", "ééééé", {"k": "value"}])
def test_varchar_too_long_without_truncatecolumns(value):
    r = rejected("character varying(8)", value, DEFAULT)
    assert (r.err_code, r.reason) == (1204, "String length exceeds DDL length")


def test_char_takes_only_single_byte_characters():
    assert conv("character(4)", "ab") == "ab"
    r = rejected("character(4)", "é")
    assert r.err_code == 1220 and r.reason.startswith("Multibyte character not supported for CHAR")


def test_nul_character_is_rejected():
    r = rejected("character varying(8)", "a\x00b")
    assert r.err_code == 1220 and "NUL" in r.reason


@pytest.mark.parametrize("raw, reason", [
    (b"a\xffb", "Bad UTF-8 hex sequence: ff (error 3)"),
    (b"a\x80", "Bad UTF-8 hex sequence: 80 (error 3)"),
    (b"a\xc3", "Bad UTF-8 hex sequence: c3 (error 2)"),
    (b"\xe2\x82", "Bad UTF-8 hex sequence: e2 82 (error 2)"),
])
def test_invalid_utf8_without_acceptinvchars(raw, reason):
    value = raw.decode("utf-8", "surrogateescape")  # how the emulator hands invalid bytes to converters
    r = rejected("character varying(8)", value)
    assert r.err_code == 1220
    assert r.reason == "String contains invalid or unsupported UTF-8 codepoints. " + reason


def test_escaped_lone_surrogate():
    assert rejected("character varying(8)", "\ud800").err_code == 1220
    assert conv("character varying(8)", "a\ud800", Options(acceptinvchars="?")) == "a???"


@pytest.mark.parametrize("data, code", [
    (b"\xff", 3), (b"\xc3", 2), (b"\xc3A", 4), (b"\xed\xa0\x80", 5), (b"\xf8\x88\x80\x80\x80", 1),
    (b"\xc0\xaf", 7), (b"\xf4\x90\x80\x80", 8), (b"ok", None),
])
def test_utf8_problem_codes(data, code):
    problem = utf8_problem(data)
    assert (problem is None) if code is None else problem[1].endswith(f"(error {code})")


@pytest.mark.parametrize("text, n, expected", [
    ("abc", 8, "abc"), ("ééé", 5, "éé"), ("ééé", 6, "ééé"), ("€€", 4, "€"), ("😀", 3, ""),
    ("a😀", 4, "a"),
])
def test_truncate_utf8(text, n, expected):
    assert truncate_utf8(text, n) == expected
    assert len(truncate_utf8(text, n).encode()) <= n


def test_catalog_types():
    assert column_from_catalog("a", "character varying(512)").length == 512
    assert column_from_catalog("a", "character(3)").kind == "char"
    assert column_from_catalog("a", "character varying").length is None
    assert column_from_catalog("a", "numeric(12,3)").scale == 3
    assert column_from_catalog("a", "timestamp(3) without time zone").kind == "timestamp"
    assert column_from_catalog("a", "jsonb").kind == "other"
    assert conv("jsonb", {"a": 1}) == '{"a":1}'
