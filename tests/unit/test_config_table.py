"""The key table (sparkify.config.keys) is the one declaration of dwh.cfg's keys: the parser reads exactly its
keys, the unknown-key hints know exactly its keys, and dwh.cfg.example and docs/configuration.md show exactly
its keys with its defaults."""

from __future__ import annotations

import configparser
import dataclasses
import re

import pytest

from sparkify.config import KNOWN_KEYS, file_secrets, parse_config, parse_dwh_settings, reference
from sparkify.config.keys import KEYS, SECTIONS, Key
from sparkify.config.kinds import Text


class RecordingParser(configparser.ConfigParser):
    """A ConfigParser that records every (section, key) a rule asks for."""

    def __init__(self):
        super().__init__(interpolation=None)
        self.asked: set[tuple[str, str]] = set()

    def get(self, section, option, **kwargs):
        self.asked.add((section, option.upper()))
        return super().get(section, option, **kwargs)


# Values for the keys whose example is empty; every other key takes its example value.
_FILLED = {("CLUSTER", "HOST"): "example.abc123.us-west-2.redshift.amazonaws.com",
           ("CLUSTER", "DB_PASSWORD"): "Cluster-Passw0rd", ("IAM_ROLE", "ARN"): "arn:aws:iam::123456789012:role/r",
           ("DWH", "DWH_DB_PASSWORD"): "Dwh-Passw0rd", ("AWS", "KEY"): "AKIDEXAMPLE", ("AWS", "SECRET"): "s3cr3t-value",
           ("WAREHOUSE", "ENGINE"): "redshift"}


def every_key_set() -> RecordingParser:
    cp = RecordingParser()
    for section in SECTIONS:
        cp.add_section(section.name)
    for key in KEYS:
        cp.set(key.section, key.name, _FILLED.get((key.section, key.name), key.example_value))
    return cp


def test_every_key_has_a_value_it_accepts_and_a_meaning():
    for key in KEYS:
        assert key.doc.strip() and key.section in KNOWN_KEYS, key
        value = _FILLED.get((key.section, key.name), key.example_value)
        assert value, f"{key.section} {key.name}: no example value to check"
        key.kind.parse(value)  # raises Invalid if the documented example is not a valid value


def test_every_key_of_the_table_is_read_by_a_rule(tmp_path):
    cp = every_key_set()
    config = parse_config(cp, tmp_path / "dwh.cfg", environ={})
    parse_dwh_settings(cp, {}, path="dwh.cfg", need_password=True, check=False)
    assert config.engine == "redshift" and config.dwh.kms_key_id == "alias/my-key"
    assert cp.asked >= {(k.section, k.name) for k in KEYS}, sorted({(k.section, k.name) for k in KEYS} - cp.asked)


def test_the_unknown_key_hints_know_exactly_the_table():
    assert {(s, k) for s, keys in KNOWN_KEYS.items() for k in keys} == {(k.section, k.name) for k in KEYS}
    assert list(KNOWN_KEYS) == [s.name for s in SECTIONS]


def test_the_example_and_the_documentation_are_generated_from_the_table():
    """Run `python tools/config_reference.py --write` after changing the table."""
    assert reference.stale_files() == []
    docs = reference.DOCS_PATH.read_text(encoding="utf-8")
    assert reference.documented_sections(docs) == [s.name for s in SECTIONS]
    example = configparser.ConfigParser(interpolation=None)
    text = reference.EXAMPLE_PATH.read_text(encoding="utf-8")
    example.read_string(re.sub(r"(?m)^# (?=[A-Z][A-Z0-9_]* =)", "", text))  # the commented-out keys too
    for key in KEYS:  # every key is in the example (set, or commented out) and in its section's table
        assert example.has_option(key.section, key.name), key.name
        assert f"| `{key.name}` |" in docs, key.name


def test_a_key_added_without_regenerating_the_files_is_caught(monkeypatch):
    new = Key("ETL", "NEW_KEY", Text(), doc="A key the generated files do not show yet.")
    monkeypatch.setattr(reference, "KEYS", (*KEYS, new))
    assert reference.stale_files() == [reference.EXAMPLE_PATH, reference.DOCS_PATH]
    assert "NEW_KEY" in reference.render_example() and "| `NEW_KEY` |" in reference.render_table(SECTIONS[4])


def test_a_changed_default_is_caught(monkeypatch):
    changed = tuple(dataclasses.replace(k, default=600) if k.name == "LOCK_TIMEOUT" else k for k in KEYS)
    monkeypatch.setattr(reference, "KEYS", changed)
    assert reference.stale_files() == [reference.EXAMPLE_PATH, reference.DOCS_PATH]


@pytest.mark.parametrize("text, secrets", [
    ("[DWH]\nDWH_MANAGED_PASSWORD = true\n", []),  # a flag, not a secret, although its name says password
    ("[DWH]\nDWH_DB_PASSWORD = Dwh-Passw0rd\n", ["Dwh-Passw0rd"]),
    ("[CLUSTER]\nDBPASSWORD = Misspelt-Pw1\n", ["Misspelt-Pw1"]),  # an unknown key is judged by its name
    ("[AWS]\nKEY = AKIDEXAMPLE\nSECRET =\n", ["AKIDEXAMPLE"]),
])
def test_secrets_are_the_tables_secret_keys(text, secrets):
    cp = configparser.ConfigParser(interpolation=None)
    cp.read_string(text)
    assert list(file_secrets(cp)) == secrets
