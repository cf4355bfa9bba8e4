"""sparkify.config.edit: in-place INI edits that keep every other line."""

from __future__ import annotations

import configparser
import os
import stat

import pytest

from sparkify.config.edit import update_config, updated_config_text
from sparkify.errors import ConfigError

BASE = """\
# top comment
[WAREHOUSE]
ENGINE = redshift   ; not an inline comment for configparser

[CLUSTER]
; the endpoint
HOST = old.example.invalid
DB_NAME=dev
db_user : someone
DB_PORT = 5439

[S3]
LOG_DATA = s3://bucket/log data with spaces
"""


def _parsed(text: str) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(interpolation=None)
    cp.read_string(text)
    return cp


@pytest.mark.parametrize(
    ("updates", "expected"),
    [
        pytest.param(  # key present: only its value changes, spelling and spacing kept
            {"CLUSTER": {"HOST": "new.example.invalid"}},
            BASE.replace("HOST = old.example.invalid", "HOST = new.example.invalid"),
            id="key-present",
        ),
        pytest.param(  # the key's spelling and ":" delimiter kept; an edited line gets spaces around "="
            {"CLUSTER": {"DB_USER": "admin", "db_name": "sparkify"}},
            BASE.replace("db_user : someone", "db_user : admin").replace("DB_NAME=dev", "DB_NAME = sparkify"),
            id="key-case-and-delimiters",
        ),
        pytest.param(  # key absent: added after the section's last key, before the blank line
            {"CLUSTER": {"DB_PASSWORD": "x"}},
            BASE.replace("DB_PORT = 5439\n", "DB_PORT = 5439\nDB_PASSWORD = x\n"),
            id="key-absent",
        ),
        pytest.param(  # section absent: appended at the end after a blank line
            {"IAM_ROLE": {"ARN": "arn:aws:iam::000000000000:role/r"}},
            BASE + "\n[IAM_ROLE]\nARN = arn:aws:iam::000000000000:role/r\n",
            id="section-absent",
        ),
        pytest.param(  # values with spaces are written as they are
            {"S3": {"LOG_DATA": "s3://other bucket/a b"}},
            BASE.replace("s3://bucket/log data with spaces", "s3://other bucket/a b"),
            id="value-with-spaces",
        ),
        pytest.param(
            {},
            BASE,
            id="no-updates",
        ),
    ],
)
def test_updated_config_text(updates, expected):
    assert updated_config_text(BASE, updates) == expected


def test_sections_added_one_after_another_are_separated_by_a_blank_line():
    """create_cluster.py on a file with neither [CLUSTER] nor [IAM_ROLE]: the second new section follows the first,
    which has no lines of its own in the file yet."""
    updates = {"CLUSTER": {"HOST": "h.example.invalid", "DB_NAME": "dev"}, "IAM_ROLE": {"ARN": "arn:aws:iam::0:role/r"}}
    tail = "\n[CLUSTER]\nHOST = h.example.invalid\nDB_NAME = dev\n\n[IAM_ROLE]\nARN = arn:aws:iam::0:role/r\n"
    assert updated_config_text("[S3]\nA = 1\n", updates) == "[S3]\nA = 1\n" + tail
    assert updated_config_text("[S3]\nA = 1", updates) == "[S3]\nA = 1\n" + tail
    assert updated_config_text("[S3]\nA = 1\n\n", updates) == "[S3]\nA = 1\n" + tail


def test_comments_blank_lines_and_other_keys_are_kept_byte_for_byte():
    new = updated_config_text(BASE, {"CLUSTER": {"HOST": "h", "DB_PASSWORD": "p"}, "IAM_ROLE": {"ARN": "a"}})
    old_lines = BASE.splitlines()
    new_lines = new.splitlines()
    changed = [line for line in old_lines if line not in new_lines]
    assert changed == ["HOST = old.example.invalid"]
    for line in ("# top comment", "; the endpoint", "ENGINE = redshift   ; not an inline comment for configparser"):
        assert line in new_lines
    cp = _parsed(new)
    assert cp["CLUSTER"]["HOST"] == "h" and cp["CLUSTER"]["DB_PASSWORD"] == "p" and cp["IAM_ROLE"]["ARN"] == "a"
    assert cp["S3"]["LOG_DATA"] == "s3://bucket/log data with spaces"


def test_empty_value_and_section_with_only_comments():
    text = "[CLUSTER]\n# filled by create_cluster.py\nHOST =\n\n[IAM_ROLE]\n# written later\n\n[S3]\nX = 1\n"
    new = updated_config_text(text, {"CLUSTER": {"HOST": "h"}, "IAM_ROLE": {"ARN": "a"}})
    assert new == ("[CLUSTER]\n# filled by create_cluster.py\nHOST = h\n\n"
                   "[IAM_ROLE]\n# written later\nARN = a\n\n[S3]\nX = 1\n")


def test_multiline_value_is_replaced_and_comment_inside_it_kept():
    text = "[A]\nK = first\n  second\n# note\n  third\nL = 2\n"
    new = updated_config_text(text, {"A": {"K": "one"}})
    assert new == "[A]\nK = one\n# note\nL = 2\n"
    assert _parsed(new)["A"]["K"] == "one" and _parsed(new)["A"]["L"] == "2"


def test_crlf_line_endings_and_missing_final_newline():
    text = "[A]\r\nK = 1\r\n\r\n[B]\r\nX = y"
    new = updated_config_text(text, {"A": {"M": "2"}, "B": {"X": "z"}, "C": {"N": "3"}})
    assert new == "[A]\r\nK = 1\r\nM = 2\r\n\r\n[B]\r\nX = z\r\n\r\n[C]\r\nN = 3\r\n"


def test_sections_are_case_sensitive_like_configparser():
    text = "[cluster]\nHOST = a\n"
    new = updated_config_text(text, {"CLUSTER": {"HOST": "b"}})
    assert new == "[cluster]\nHOST = a\n\n[CLUSTER]\nHOST = b\n"


def test_empty_text():
    assert updated_config_text("", {"A": {"K": "v"}}) == "[A]\nK = v\n"


@pytest.mark.parametrize("updates", [{"A": {"K": "two\nlines"}}, {"A": {"K=": "v"}}, {"[A]": {"K": "v"}}])
def test_bad_updates_are_refused(updates):
    with pytest.raises(ValueError):
        updated_config_text("[A]\n", updates)


@pytest.mark.parametrize("mode", [0o640, 0o604], ids=["0640", "0604"])  # neither mkstemp's 0600 nor a new file's 0644 (umask 022)
def test_update_config_file_keeps_mode_and_is_atomic(tmp_path, mode):
    path = tmp_path / "dwh.cfg"
    path.write_text(BASE)
    os.chmod(path, mode)
    assert update_config(path, {"CLUSTER": {"HOST": "h"}}) is True
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert path.read_text() == BASE.replace("old.example.invalid", "h")
    assert [p.name for p in tmp_path.iterdir()] == ["dwh.cfg"]  # no temporary file left behind
    assert update_config(path, {"CLUSTER": {"HOST": "h"}}) is False  # nothing to change: not rewritten


def test_update_config_follows_a_symlink(tmp_path):
    target = tmp_path / "real.cfg"
    target.write_text(BASE)
    link = tmp_path / "dwh.cfg"
    link.symlink_to(target)
    update_config(link, {"CLUSTER": {"HOST": "h"}})
    assert link.is_symlink()
    assert "HOST = h" in target.read_text()


def test_update_config_refuses_an_unparsable_file_and_leaves_it_alone(tmp_path):
    path = tmp_path / "dwh.cfg"
    original = "[A]\nK = 1\n[A]\nK = 2\n"  # duplicate section: configparser refuses it
    path.write_text(original)
    with pytest.raises(ConfigError, match="cannot parse"):
        update_config(path, {"A": {"K": "3"}})
    assert path.read_text() == original


def test_update_config_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        update_config(tmp_path / "nope.cfg", {"A": {"K": "v"}})
