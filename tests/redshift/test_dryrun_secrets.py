"""--dry-run masks every secret wherever it would print: secrets put where a dry run shows data (the source
prefixes in the COPY and the ledger's rows, the ledger's objects gone since loaded in the notes, an error
message in a NOTE line) are in the text before masking, and none of them is in what etl.py prints.

The secrets come from every place the toolkit reads one: the password of the file and of SPARKIFY_DB_PASSWORD,
[DWH] DWH_DB_PASSWORD, [AWS] KEY and SECRET, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, and a CREDENTIALS
string whose secret is known nowhere else (only its pattern can mask it).
"""

from __future__ import annotations

import pytest

from sparkify import dryrun
from sparkify.config import load_config
from tests.helpers.dwhcfg import DwhCfg

FILE_PW = "File-Passw0rd-66"
ENV_PW = "Env-Passw0rd-77"
DWH_PW = "Dwh-Passw0rd-55"
FILE_KEY = "AKIA" + "FILEKEY0EXAMPLE1"
FILE_SECRET = "wJalrXUtnFEMI-K7MDENG-file"
ENV_SECRET = "EnvSecretKey99-abcdef"
ENV_TOKEN = "EnvToken123-session-xyz"
CRED_SECRET = "CredOnlySecret-4242-zz"  # in a CREDENTIALS string only
SECRETS = (FILE_PW, ENV_PW, DWH_PW, FILE_KEY, FILE_SECRET, ENV_SECRET, ENV_TOKEN, CRED_SECRET)
CREDENTIALS = f"credentials 'aws_access_key_id={FILE_KEY};aws_secret_access_key={CRED_SECRET}'"


@pytest.fixture
def secret_environment(monkeypatch, udacity_bucket):
    """The environment's secrets, set after moto's fake environment (udacity_bucket) so that they are what runs."""
    monkeypatch.setenv("SPARKIFY_DB_PASSWORD", ENV_PW)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ENV_SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", ENV_TOKEN)


@pytest.fixture
def secret_cfg(tmp_path, secret_environment):
    """A dwh.cfg holding every kind of secret, whose log prefix names the file's AWS key and secret and whose song
    prefix names the environment's."""
    path = (DwhCfg.redshift(password=FILE_PW, log_data=f"s3://udacity-dend/log_data/{FILE_KEY}/{FILE_SECRET}",
                            song_data=f"s3://udacity-dend/song_data/{ENV_SECRET}/{ENV_TOKEN}")
            .set("DWH", DWH_DB_PASSWORD=DWH_PW).set("AWS", KEY=FILE_KEY, SECRET=FILE_SECRET)
            .write(tmp_path / "dwh.cfg"))
    path.chmod(0o600)
    return path


@pytest.fixture
def sources_with_secrets(udacity_bucket):
    """Objects under both prefixes (so the COPYs and the ledger's rows show them)."""
    udacity_bucket.put_object(Bucket="udacity-dend", Key=f"log_data/{FILE_KEY}/{FILE_SECRET}/day.json", Body=b"{}\n")
    udacity_bucket.put_object(Bucket="udacity-dend", Key=f"song_data/{ENV_SECRET}/{ENV_TOKEN}/s.json", Body=b"{}")


def unmasked(cfg) -> str:
    """What the dry run would print without masking (same reads: the listing, the recorder's ledger)."""
    config = load_config(cfg)
    return dryrun.format_dry_run(dryrun.dry_run_for("etl.py", config), config)


def test_every_secret_in_the_statements_and_notes_is_masked(secret_cfg, sources_with_secrets, recorded, capsys):
    # the ledger has three song objects that are gone now: the notes name them (their names hold secrets)
    gone = [f"s3://udacity-dend/song_data/{ENV_SECRET}/{ENV_TOKEN}/{name}.json"
            for name in (FILE_PW, ENV_PW, f"{DWH_PW} {CREDENTIALS}")]
    recorded.results["where table_name = 'staging_songs'"] = [(url, 1, '"etag"') for url in gone]
    raw = unmasked(secret_cfg)
    assert all(secret in raw for secret in SECRETS), [s for s in SECRETS if s not in raw]
    assert "gone since loaded" in raw and CREDENTIALS in raw
    recorded.clear()

    import etl

    assert etl.main(["--config", str(secret_cfg), "--dry-run"]) == 0
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert [s for s in SECRETS if s in printed] == []
    assert "aws_access_key_id=****;aws_secret_access_key=****" in printed
    assert "from 's3://udacity-dend/log_data/****/****'" in printed  # the statement itself, masked
    assert printed.count("****") >= len(SECRETS)


@pytest.fixture
def echoing_connect(monkeypatch):
    """A connection that fails with a message echoing what it was given (as a misbehaving proxy would)."""
    import psycopg2

    def connect(*args, **kwargs):
        raise psycopg2.OperationalError(f"server closed the connection: password={kwargs.get('password')} "
                                        f"{CREDENTIALS} token={ENV_TOKEN} (file {FILE_PW}, dwh {DWH_PW})")

    monkeypatch.setattr(psycopg2, "connect", connect)


def test_a_note_quoting_an_error_is_masked(secret_cfg, sources_with_secrets, echoing_connect, capsys):
    raw = unmasked(secret_cfg)
    note = next(line for line in raw.splitlines() if line.startswith("-- NOTE: the load ledger could not be read"))
    assert all(secret in note for secret in (ENV_PW, FILE_PW, DWH_PW, ENV_TOKEN, FILE_KEY, CRED_SECRET)), note

    import etl

    assert etl.main(["--config", str(secret_cfg), "--dry-run"]) == 0
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert [s for s in SECRETS if s in printed] == []
    assert "-- NOTE: the load ledger could not be read (" in printed and "password=****" in printed
