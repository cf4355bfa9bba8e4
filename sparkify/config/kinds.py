"""The kinds of values dwh.cfg holds: each parses one raw string, says why it refuses one, and describes itself.

A kind refuses a value by raising `Invalid` with the rest of the problem line ("must be ..., not 'x'"): the
caller prefixes "[SECTION] KEY ". `describe()` is the value column of the documentation's key tables.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sparkify.awsnames import REGION_RE

_WHOLE_RE = re.compile(r"[+-]?\d+")
_BOOLEANS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}
_SUBNET_RE = re.compile(r"^subnet-[0-9a-f]{8,17}$")


class Invalid(ValueError):
    """A value its kind refuses; the message follows "[SECTION] KEY " in the problem line."""


class Kind:
    """Any text, as written (stripped, without surrounding quotes)."""

    def parse(self, raw: str) -> Any:
        return raw

    def describe(self) -> str:
        return "text"


def _alternatives(options: tuple[str, ...], code: bool = False) -> str:
    shown = [f"`{o}`" if code else o for o in options]
    return " or ".join(shown) if len(shown) == 2 else f"one of {', '.join(shown)}"


@dataclass(frozen=True)
class Text(Kind):
    """Text matching `pattern` (whole value) and `check`; refused as "must <must>" or "is not <is_not>"."""

    pattern: str | None = None
    must: str | None = None
    is_not: str | None = None
    lower: bool = False
    check: Callable[[str], bool] | None = None
    label: str = "text"

    def parse(self, raw: str) -> str:
        value = raw.lower() if self.lower else raw
        if (self.pattern and not re.fullmatch(self.pattern, value)) or (self.check and not self.check(value)):
            raise Invalid(f"is not {self.is_not}: {value!r}" if self.is_not else f"must {self.must}, not {value!r}")
        return value

    def describe(self) -> str:
        return self.label


@dataclass(frozen=True)
class Choice(Kind):
    """One of `options`, case-insensitive (read lower-cased)."""

    options: tuple[str, ...]

    def parse(self, raw: str) -> str:
        value = raw.lower()
        if value not in self.options:
            raise Invalid(f"must be {_alternatives(self.options)}, not {value!r}")
        return value

    def describe(self) -> str:
        return _alternatives(self.options, code=True).replace("one of ", "")


@dataclass(frozen=True)
class Integer(Kind):
    """A whole number, within [lo, hi] (either may be None) or passing `check` (described by `rule`)."""

    lo: int | None = None
    hi: int | None = None
    unit: str = ""
    check: Callable[[int], bool] | None = None
    rule: str | None = None

    def parse(self, raw: str) -> int:
        if not _WHOLE_RE.fullmatch(raw):
            raise Invalid(f"must be a whole number, not {raw!r}")
        value = int(raw)
        if self.check is not None and not self.check(value):
            raise Invalid(f"must be {self.rule}, not {value}")
        if self.lo is not None and self.hi is not None and not self.lo <= value <= self.hi:
            raise Invalid(f"must be between {self.lo} and {self.hi}, not {value}")
        if self.lo is not None and self.hi is None and value < self.lo:
            raise Invalid(f"must be at least {self.lo}{self.unit}, not {value}")
        return value

    def describe(self) -> str:
        if self.rule:
            return self.rule
        if self.lo is not None and self.hi is not None:
            return f"whole number, {self.lo}–{self.hi}"
        if self.lo is not None:
            return f"whole number, at least {self.lo}"
        return "whole number"


@dataclass(frozen=True)
class Port(Kind):
    """A TCP port number in [lo, hi]; `why` explains a narrower range."""

    lo: int = 1
    hi: int = 65535
    why: str = ""

    def parse(self, raw: str) -> int:
        if not (raw.isdigit() and self.lo <= int(raw) <= self.hi):
            between = "" if (self.lo, self.hi) == (1, 65535) else f" between {self.lo} and {self.hi}{self.why}"
            raise Invalid(f"must be a port number{between}, not {raw!r}")
        return int(raw)

    def describe(self) -> str:
        return f"port, {self.lo}–{self.hi}"


class Flag(Kind):
    """true or false (also yes/no, on/off, 1/0)."""

    def parse(self, raw: str) -> bool:
        if raw.lower() not in _BOOLEANS:
            raise Invalid(f"must be true or false, not {raw!r}")
        return _BOOLEANS[raw.lower()]

    def describe(self) -> str:
        return "`true` or `false`"


@dataclass(frozen=True)
class Region(Kind):
    """An AWS region name."""

    lower: bool = False

    def parse(self, raw: str) -> str:
        value = raw.lower() if self.lower else raw
        if not REGION_RE.match(value):
            raise Invalid(f"is not an AWS region name (like us-west-2): {value!r}")
        return value

    def describe(self) -> str:
        return "AWS region name"


class Secret(Kind):
    """A password or key: any text; never quoted in a message."""

    def describe(self) -> str:
        return "text, never printed"


# Ranges no client connects from: "this network" (0.0.0.0/8, which holds 0.0.0.0/32), loopback, multicast and
# the reserved 240.0.0.0/4 (which holds the broadcast address).
_UNUSABLE = tuple(ipaddress.ip_network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4"))


class Cidr(Kind):
    """An IPv4 address or range in CIDR notation (a bare address is a /32), normalized."""

    def parse(self, raw: str) -> str:
        try:
            net = ipaddress.ip_network(raw, strict=True)
        except ValueError:
            hint = ""
            try:
                hint = f" (did you mean {ipaddress.ip_network(raw, strict=False)}?)"
            except ValueError:
                pass
            raise Invalid(f"must be an IPv4 address or range like 203.0.113.7/32, not {raw!r}{hint}") from None
        if net.version != 4:
            raise Invalid(f"must be an IPv4 range (the cluster's public endpoint is IPv4), not {raw!r}")
        if net.prefixlen > 0 and any(net.subnet_of(bad) for bad in _UNUSABLE):
            raise Invalid(f"must be an address or range clients connect from, not {raw!r}: give your public "
                          f"address as a /32 (like 203.0.113.7/32), or leave it unset to detect it")
        return str(net)

    def describe(self) -> str:
        return "IPv4 address or CIDR range"


class SubnetIds(Kind):
    """Subnet ids separated by commas."""

    def parse(self, raw: str) -> tuple[str, ...]:
        ids = tuple(s.strip() for s in raw.split(",") if s.strip())
        bad = [s for s in ids if not _SUBNET_RE.match(s)]
        if bad:
            raise Invalid(f"must be subnet ids like subnet-0123456789abcdef0, separated by commas, "
                          f"not {', '.join(repr(b) for b in bad)}")
        return ids

    def describe(self) -> str:
        return "subnet ids, separated by commas"
