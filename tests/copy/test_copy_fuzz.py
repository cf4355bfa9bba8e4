"""Fuzzing the C converter against the Python reference (native_diff.compare): same rows, same rejections,
same line count, whatever the bytes.

- `test_fuzz_corpus_replays`: the inputs kept by the long coverage-guided fuzz sessions (`make fuzz`,
  tools/fuzz_native.py: each input reached code of native.c no other input reached, or once made the two
  paths disagree), replayed under every option set.
- `test_generated_lines`: hypothesis builds JSON lines token by token (valid, damaged, edge values, long
  strings, every escape, UTF-8 edge cases, numbers at the bounds of each column type); a bounded,
  derandomized run (the same examples every time). SPARKIFY_FUZZ_EXAMPLES=N runs N random ones instead.

`make sanitize` runs this file again against the AddressSanitizer + UndefinedBehaviorSanitizer build.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.native_diff import KEYS, OPTION_SETS, compare

pytestmark = [pytest.mark.usefixtures("native_library"),
              pytest.mark.slow]  # thousands of generated lines through both converters

CORPUS = Path(__file__).resolve().parent / "fuzz_corpus"

# ------------------------------------------------------------------------------------------ the corpus


def _corpus() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.suffix == ".json")


def test_the_corpus_is_there():
    assert len(_corpus()) >= 50, f"{CORPUS}: the fuzz corpus is missing"


@pytest.mark.parametrize("options", list(OPTION_SETS))
def test_fuzz_corpus_replays(options):
    for path in _corpus():
        data = path.read_bytes()
        with_c, reference = compare(data, options)
        assert with_c == reference, f"{path.name} ({options}): {data[:300]!r}"


# ------------------------------------------------------------------------------------------ generated

WS = st.sampled_from([b"", b"", b"", b" ", b"  ", b"\t", b"\r", b" \n "])
INT_EDGES = [0, 1, -1, 9, 10, 99, 100, 255, 256, 32767, 32768, -32768, -32769, 2**31 - 1, 2**31, -(2**31),
             -(2**31) - 1, 2**53, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 10**18 - 1, 10**18, 10**19,
             253402300799999, 253402300800000, -62135596800000, -62135596800001, 1541030419796]
NUMBER_TEXTS = ["-0", "0", "00", "01", "-01", "1.0", "1.", ".5", "-.5", "1e5", "1E5", "1e+5", "1e-5", "1.5e300",
                "1e400", "-1e400", "1e-400", "0.1000000000000000055511151231257827", "+1", "-", "--1", "1-",
                "123456789012345678901234567890", "0x10", "NaN", "Infinity", "-Infinity", "1.7976931348623157e308"]
LITERALS = ["true", "false", "null", "tru", "nul", "True", "NULL", "fals", "truex", "nullnull"]
# characters worth meeting in strings: escapes, the NULL marker, controls, blanks, multibyte, astral
CHARS = ["a", "Z", "0", " ", "\t", "\n", "\r", "\x0b", "\x0c", "\x00", "\x01", "\x02", "\x1f", "\x7f", '"', "\\",
         "/", "é", "ß", "€", "\u2028", "\ufeff", "\uffff", "🎵", "\U0010ffff"]
RAW_TOKENS = [b"\\ud800", b"\\udc00", b"\\ud83c\\udfb5", b"\\udbff\\udfff", b"\\ud800\\u0041", b"\\u0000",
              b"\\u0002", b"\\u00e9", b"\\u20AC", b"\\uD834\\uDD1E", b"\\u12", b"\\x41", b"\\", b"\\'", b"\xff",
              b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc3", b"\xe2\x82", b"\x80",
              b"\xf0\x9f\x8e", b"\x01", b"\t"]


MORE_CHARS = ["\x7e", "\x80", "\xa0", "\xff", "\u0100", "\u07ff", "\u0800", "\ud7ff", "\ue000", "\ufffd",
              "\U00010000", "\U0001f600", "一", "ｱ", "\u0301"]
_SHORT = {'"': b'\\"', "\\": b"\\\\", "/": b"\\/", "\b": b"\\b", "\f": b"\\f", "\n": b"\\n", "\r": b"\\r",
          "\t": b"\\t"}


def _spellings(c: str) -> list[bytes]:
    """The ways to write the character c inside a JSON string: raw (if JSON allows it), short escape,
    \\uXXXX in lower and upper case (a surrogate pair for astral characters)."""
    out = []
    if c not in '"\\' and ord(c) >= 0x20:
        out.append(c.encode("utf-8"))
    if c in _SHORT:
        out.append(_SHORT[c])
    cp = ord(c)
    for fmt in ("\\u{:04x}", "\\u{:04X}"):
        if cp > 0xFFFF:
            v = cp - 0x10000
            out.append((fmt.format(0xD800 + (v >> 10)) + fmt.format(0xDC00 + (v & 0x3FF))).encode())
        else:
            out.append(fmt.format(cp).encode())
    return out


# every spelling of every character, and the raw tokens: one draw per character of a generated string
TOKENS = sorted({t for c in CHARS + MORE_CHARS for t in _spellings(c)} | set(RAW_TOKENS))
PLAIN = [c.encode() for c in "abcdefghijklmnopqrstuvwxyz0123456789 -_.:"]


def _cat(*parts):
    return st.tuples(*parts).map(b"".join)


def _q(inner):
    return _cat(st.just(b'"'), inner, st.just(b'"'))


# strings: plain text mostly; every spelling of every interesting character; around the VARCHAR(8) limit in
# bytes and characters; long ones; values with special meanings (digits, blanks, the NULL marker)
STRING = st.one_of(
    _q(st.lists(st.sampled_from(PLAIN), max_size=10).map(b"".join)),
    _q(st.lists(st.sampled_from(PLAIN), max_size=10).map(b"".join)),
    _q(st.lists(st.sampled_from(TOKENS), max_size=8).map(b"".join)),
    _q(st.tuples(st.sampled_from(["a", "é", "€", "🎵"]), st.integers(0, 10)).map(lambda t: t[0].encode() * t[1])),
    _q(st.sampled_from([b"", b" ", b"   ", b" x", b"39", b"0039", b"-5", b"+5", b"3.5", b"1e3", b"t", b"true",
                        b"12345678901234567890", b"\\u0002", b"\x02", b"\\t", b" \\t", b"\\u000b"])),
)
LONG_STRING = _q(st.tuples(st.sampled_from([b"x", b"\\n", "é".encode(), b" "]),
                           st.sampled_from([255, 256, 257, 1000, 65535, 70000])).map(lambda t: t[0] * t[1]))
NUMBER = st.one_of(
    st.tuples(st.sampled_from(INT_EDGES), st.sampled_from([0, 0, 1, -1])).map(lambda t: str(t[0] + t[1]).encode()),
    st.sampled_from(NUMBER_TEXTS).map(str.encode),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: repr(f).encode()),
    st.integers(-(2**70), 2**70).map(lambda i: str(i).encode()),
)
SCALAR = st.one_of(STRING, STRING, NUMBER, st.sampled_from(LITERALS).map(str.encode))


def _nested(inner):
    return st.one_of(
        st.lists(inner, max_size=3).map(lambda items: b"[" + b",".join(items) + b"]"),
        st.lists(st.tuples(STRING, inner), max_size=3).map(
            lambda members: b"{" + b",".join(k + b":" + v for k, v in members) + b"}"),
    )


VALUE = st.one_of(SCALAR, SCALAR, SCALAR, SCALAR, _nested(st.one_of(SCALAR, SCALAR, _nested(SCALAR))))
KEY = st.one_of(
    st.sampled_from([f'"{k}"'.encode() for k in KEYS]),
    st.sampled_from([f'"{k}"'.encode() for k in KEYS]),
    st.sampled_from([b'"extra"', b'"S8"', b'"nn "', b'""', b'"s"', b'"i2i2"', b'"b\\u0073"', b'"\xc3\xa9"']),
    STRING,
)
MEMBER_VALUE = st.one_of(*[VALUE] * 30, LONG_STRING)  # long strings: rare, they are slow in Python


def _object(t) -> bytes:
    ws, members = t
    return ws + b"{" + b",".join(ws + k + ws + b":" + ws + v for k, v in members) + ws + b"}" + ws


OBJECT = st.tuples(WS, st.lists(st.tuples(KEY, MEMBER_VALUE), max_size=10)).map(_object)
# records the C converter takes whole (every column present with a value of its type), in any member order,
# with unknown members among them: the values C converts itself, compared with Python's
_INT_TEXT = {"i2": (-(2**15), 2**15 - 1), "i4": (-(2**31), 2**31 - 1), "i8": (-(2**63), 2**63 - 1),
             "nn": (-(2**31), 2**31 - 1), "ts": (-62135596800000, 253402300799999)}
_CLEAN_TEXT = st.lists(st.sampled_from(PLAIN + ["é".encode(), b"\\n", b"\\u00e9", b"\\/"]), max_size=8).map(
    lambda parts: b'"' + b"".join(parts) + b'"')
_DECIMAL = st.tuples(st.integers(-(10**9), 10**9), st.integers(0, 10**17)).map(lambda t: f"{t[0]}.{t[1]}".encode())
COLUMN_VALUE = {
    **{k: st.one_of(st.integers(lo, hi), st.sampled_from([lo, hi, 0, -1, 1])).map(lambda i: str(i).encode())
       for k, (lo, hi) in _INT_TEXT.items()},
    "s8": st.one_of(_CLEAN_TEXT, _CLEAN_TEXT, STRING), "txt": st.one_of(_CLEAN_TEXT, STRING),
    "f8": st.one_of(_DECIMAL, st.integers(-(2**70), 2**70).map(lambda i: str(i).encode()), NUMBER,
                    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: repr(f).encode())),
    "b": st.sampled_from([b"true", b"false", b"0", b"1", b"null"]),
}


def _record(t) -> bytes:
    ws, members, extra = t
    return _object((ws, members[:len(members) // 2] + extra + members[len(members) // 2:]))


RECORD = st.tuples(
    WS,
    st.permutations(KEYS).flatmap(lambda keys: st.tuples(*[st.tuples(st.just(f'"{k}"'.encode()), COLUMN_VALUE[k])
                                                            for k in keys])).map(list),
    st.lists(st.tuples(KEY, VALUE), max_size=2),
).map(_record)
JUNK = st.sampled_from([b"", b"x", b"}", b"{", b'"', b",", b"\\", b":", b"\xff", b"\n", b"[", b"]"])


def _cut(t) -> bytes:
    text, at = t
    return text[:at % (len(text) + 1)]


def _damaged(t) -> bytes:
    text, at, junk, skip = t
    at %= len(text) + 1
    return text[:at] + junk + text[at + skip:]


LINE = st.one_of(  # (hypothesis favours the first branches)
    RECORD, OBJECT, RECORD, OBJECT, RECORD, OBJECT,
    st.tuples(OBJECT, st.integers(0, 1 << 16)).map(_cut),  # cut short
    st.tuples(OBJECT, st.integers(0, 1 << 16), JUNK, st.integers(0, 1)).map(_damaged),  # a byte replaced or added
    VALUE, st.sampled_from([b"", b"   ", b"[]", b"{}{}", b"{} {}", b"\xef\xbb\xbf{}"]),  # not an object
)


def _lines(t) -> bytes:
    lines, end, last, bom = t
    return (b"\xef\xbb\xbf" if bom == 0 else b"") + end.join(lines) + (end if last else b"")


JSON_LINES = st.tuples(st.lists(LINE, min_size=1, max_size=5), st.sampled_from([b"\n", b"\n", b"\r\n"]),
                       st.booleans(), st.integers(0, 19)).map(_lines)


_EXAMPLES = int(os.environ.get("SPARKIFY_FUZZ_EXAMPLES", "0") or 0)
FUZZ_SETTINGS = settings(
    max_examples=_EXAMPLES or 300, derandomize=not _EXAMPLES, database=None, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


@FUZZ_SETTINGS
@given(data=JSON_LINES, options=st.sampled_from(list(OPTION_SETS)))
def test_generated_lines(data, options):
    with_c, reference = compare(data, options)
    assert with_c == reference
