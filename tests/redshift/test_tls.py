"""TLS, verified, never plaintext: create_tables.py against TLS endpoints on 127.0.0.1 (tests/helpers/tls_server.py)
in front of a real PostgreSQL, with a CA made in the test. It connects through the endpoint whose certificate the
CA signed for the host name it is given; it refuses, in one line with the fix, a self-signed certificate, an
expired one, one for another host name and a server without TLS, and nothing reached the PostgreSQL server behind
them: not a byte of the startup packet (user, password), no statement in the server's log (log_statement = all
for the test's database), no table created."""

from __future__ import annotations

import dataclasses
import re
import ssl
from urllib.parse import urlparse

import psycopg2
import pytest

import create_tables
import etl
from sparkify import tls
from sparkify.config import load_config
from sparkify.errors import ConfigError
from tests.helpers.db import query_once
from tests.helpers.dwhcfg import PASSWORD, DwhCfg


@pytest.fixture
def database(pg_dsn) -> str:
    """This test's fresh database on the embedded server (the one behind every endpoint)."""
    return urlparse(pg_dsn).path.lstrip("/")


class StatementLog:
    """The statements the embedded server receives in one database, from its own log (log_statement = all)."""

    def __init__(self, server, pg_dsn: str, database: str):
        self.path = server.data_dir / "log"
        conn = psycopg2.connect(pg_dsn)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'alter database "{database}" set log_statement = \'all\'')
        conn.close()

    def mark(self) -> int:
        return self.path.stat().st_size

    def since(self, mark: int) -> list[str]:
        with self.path.open("rb") as log:
            log.seek(mark)
            text = log.read().decode(errors="replace")
        entries = re.split(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \w+ \[\d+\] ", text, flags=re.MULTILINE)
        return [e.split("statement: ", 1)[1].strip() for e in entries if e.startswith("LOG:  statement: ")]


@pytest.fixture
def statements(pg_server, pg_dsn, database) -> StatementLog:
    return StatementLog(pg_server, pg_dsn, database)


def tables_in(pg_dsn) -> list[str]:
    """The tables of the database, read directly on the server's Unix socket (not through an endpoint)."""
    return [r[0] for r in query_once(pg_dsn, "select table_name from information_schema.tables "
                                              "where table_schema = 'public' order by table_name")]


def postgres_cfg(path, host, port, database, *, ssl_root_cert=None, ssl_mode=None):
    """A dwh.cfg with ENGINE = postgres for `database` at host:port (mode 0600: it holds a password)."""
    cfg = DwhCfg.postgres(host=host, db_port=port, db_name=database, log_data="log_data", log_jsonpath="auto",
                          song_data="song_data")
    cfg.set("CLUSTER", DB_PASSWORD=PASSWORD, SSL_ROOT_CERT=ssl_root_cert, SSL_MODE=ssl_mode)
    cfg.mode = 0o600
    return cfg.write(path)


def redshift_cfg_at(path, host, port, database, *, ssl_root_cert=None):
    """A dwh.cfg with ENGINE = redshift (DwhCfg.redshift) for `database` at host:port as postgres (mode 0600)."""
    cfg = DwhCfg.redshift(host=host, port=port, db_name=database, db_user="postgres")
    cfg.set("CLUSTER", SSL_ROOT_CERT=ssl_root_cert)
    cfg.mode = 0o600
    return cfg.write(path)


def engine_cfg(engine, tmp_path, host, port, database, ca):
    if engine == "redshift":
        return redshift_cfg_at(tmp_path / "dwh.cfg", host, port, database, ssl_root_cert=ca)
    return postgres_cfg(tmp_path / "dwh.cfg", host, port, database, ssl_root_cert=ca)


def test_postgres_connects_through_tls_verified_with_the_ca(tmp_path, tls_endpoint, test_ca, database, pg_dsn,
                                                            statements, capsys):
    """The control: the endpoint relays, the server logs the statements and their tables exist."""
    endpoint = tls_endpoint("verified")
    cfg = postgres_cfg(tmp_path / "dwh.cfg", "localhost", endpoint.port, database, ssl_root_cert=test_ca.path)
    mark, logged = endpoint.mark(), statements.mark()
    assert create_tables.main(["--config", str(cfg), "-q"]) == 0, capsys.readouterr().err
    assert any(s.startswith("create table songplays") for s in statements.since(logged))
    assert "songplays" in tables_in(pg_dsn)
    through = endpoint.since(mark)
    assert through and all(c.tls_asked and c.refused is None and c.to_server > 0 for c in through)


def test_redshift_connects_through_tls_verified_with_the_ca(tmp_path, tls_endpoint, test_ca, database, statements):
    """The control for ENGINE = redshift (whose DDL a PostgreSQL server would refuse): the preflight's login and
    its catalog query reach the server."""
    from sparkify.preflight import check_database

    endpoint = tls_endpoint("verified")
    cfg = engine_cfg("redshift", tmp_path, "localhost", endpoint.port, database, test_ca.path)
    logged = statements.mark()
    findings = check_database(load_config(cfg))
    assert findings[0].line().startswith(f"ok    cluster.login: logged in to {database} at localhost:")
    assert any("from information_schema.columns" in s for s in statements.since(logged))


REFUSALS = {
    "self-signed": ("localhost", ("localhost's TLS certificate is not signed by a CA in [CLUSTER] SSL_ROOT_CERT ({ca}) "
                                 "(OpenSSL: self-signed certificate): ")),
    "expired": ("localhost", ("localhost's TLS certificate has expired (OpenSSL: certificate has expired): the "
                             "server's certificate must be renewed")),
    "verified": ("127.0.0.1", "127.0.0.1's TLS certificate is for another host name: set [CLUSTER] HOST to "),
    "plaintext": ("localhost", "localhost:{port} offers no TLS, and the password is never sent in plaintext: "),
}
FIXES = {
    ("redshift", "self-signed"): "if the system store lacks Amazon's roots, set [CLUSTER] SSL_ROOT_CERT to AWS's "
                                 "Redshift bundle (https://s3.amazonaws.com/redshift-downloads/"
                                 "amazon-trust-ca-bundle.crt); a certificate no CA signs is not Redshift's",
    ("postgres", "self-signed"): "set [CLUSTER] SSL_ROOT_CERT to the CA certificate that signed the server's "
                                 "certificate",
    ("redshift", "expired"): "",
    ("postgres", "expired"): " (by whoever runs the server)",
    ("redshift", "verified"): "the endpoint create_cluster.py writes (not an IP address or another name)",
    ("postgres", "verified"): "a name the certificate carries",
    ("redshift", "plaintext"): "Redshift always offers TLS: check that [CLUSTER] HOST is the cluster's or "
                               "workgroup's endpoint (create_cluster.py writes it)",
    ("postgres", "plaintext"): "enable TLS on the server (ssl = on, with a certificate), or, for this server on "
                               "this machine only, set [CLUSTER] SSL_MODE = disable",
}


@pytest.mark.parametrize("engine", ["redshift", "postgres"])
@pytest.mark.parametrize("kind", list(REFUSALS), ids=["self-signed", "expired", "host-name mismatch", "plaintext"])
def test_refused_in_one_line_before_anything_reaches_the_server(kind, engine, tmp_path, tls_endpoint, test_ca,
                                                                 database, pg_dsn, statements, capsys):
    endpoint = tls_endpoint(kind)
    host, reason = REFUSALS[kind]
    cfg = engine_cfg(engine, tmp_path, host, endpoint.port, database, test_ca.path)
    mark, logged = endpoint.mark(), statements.mark()
    assert create_tables.main(["--config", str(cfg), "-q"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    where = f"{engine} at {host}:{endpoint.port}/{database} as postgres"
    expected = (f"create_tables.py: cannot connect to the {where}: TLS refused: "
                + reason.format(ca=test_ca.path, port=endpoint.port) + FIXES[(engine, kind)])
    assert err.strip() == expected
    assert "Passw0rd-Very-Secret" not in err
    # the server's side: no statement, not a byte of the startup packet (user, password), no table
    assert statements.since(logged) == []
    assert tables_in(pg_dsn) == []
    refused = endpoint.since(mark)
    assert refused and all(c.tls_asked and c.to_server == 0 for c in refused)


def test_the_preflight_says_it_in_its_login_line(tmp_path, tls_endpoint, test_ca, database, capsys):
    endpoint = tls_endpoint("self-signed")
    cfg = redshift_cfg_at(tmp_path / "dwh.cfg", "localhost", endpoint.port, database, ssl_root_cert=test_ca.path)
    from sparkify.preflight import check_database

    (finding,) = check_database(load_config(cfg))
    assert finding.line().startswith(f"FATAL cluster.login: cannot log in to {database} at localhost:{endpoint.port} "
                                     "as postgres: TLS refused: localhost's TLS certificate is not signed by a CA in ")


def test_iam_credentials_and_the_lock_go_over_tls_too(tmp_path, tls_endpoint, test_ca, database, capsys):
    """etl.py's own connections (the dry run's read-only look at the ledger) are verified like the others."""
    endpoint = tls_endpoint("expired")
    cfg = redshift_cfg_at(tmp_path / "dwh.cfg", "localhost", endpoint.port, database, ssl_root_cert=test_ca.path)
    assert etl.main(["--config", str(cfg), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "-- NOTE: the load ledger could not be read (cannot connect to the redshift at localhost:" in out
    assert "TLS refused: localhost's TLS certificate has expired" in out


# ---- what the configuration allows


@pytest.mark.parametrize("host", ["/var/run/postgresql", "@abstract-socket"])
def test_a_unix_socket_host_is_refused_for_redshift(host, tmp_path):
    cfg = DwhCfg.redshift(host=host).write(tmp_path / "dwh.cfg")
    with pytest.raises(ConfigError, match=r"\[CLUSTER\] HOST is a Unix socket .*: a Redshift endpoint is a host name "
                                          r"\(create_cluster.py writes it\), and over a socket there is no TLS"):
        load_config(cfg)


def test_ssl_mode_disable_is_refused_for_redshift(tmp_path):
    cfg = DwhCfg.redshift().set("CLUSTER", SSL_MODE="disable").write(tmp_path / "dwh.cfg")
    with pytest.raises(ConfigError, match=r"\[CLUSTER\] SSL_MODE = disable is refused for ENGINE = redshift"):
        load_config(cfg)


def test_ssl_mode_disable_is_refused_for_a_remote_postgres(tmp_path):
    cfg = postgres_cfg(tmp_path / "dwh.cfg", "db.example.com", 5432, "sparkify", ssl_mode="disable")
    with pytest.raises(ConfigError, match=r"SSL_MODE = disable is only for a server on this machine .*not "
                                          r"db.example.com: the password would cross the network in plaintext"):
        load_config(cfg)


def test_ssl_mode_disable_reaches_a_local_server_without_tls(tmp_path, tls_endpoint, database, pg_dsn, capsys):
    """The documented way down, for a PostgreSQL server on this machine that has no TLS."""
    endpoint = tls_endpoint("plaintext")
    cfg = postgres_cfg(tmp_path / "dwh.cfg", "127.0.0.1", endpoint.port, database, ssl_mode="disable")
    mark = endpoint.mark()
    assert create_tables.main(["--config", str(cfg), "-q"]) == 0, capsys.readouterr().err
    assert "songplays" in tables_in(pg_dsn)
    assert all(c.to_server > 0 for c in endpoint.since(mark))


def test_ssl_mode_disable_does_not_downgrade_a_tls_server_client_side(tmp_path, tls_endpoint, database):
    """`disable` sends no SSLRequest: a server that requires TLS (as Redshift with require_ssl) refuses it."""
    endpoint = tls_endpoint("verified")
    cfg = postgres_cfg(tmp_path / "dwh.cfg", "localhost", endpoint.port, database, ssl_mode="disable")
    from sparkify.errors import WarehouseError
    from sparkify.warehouse import Warehouse

    mark = endpoint.mark()
    with pytest.raises(WarehouseError):
        Warehouse(load_config(cfg)).connect()
    assert [c.refused for c in endpoint.since(mark)] == ["the client did not ask for TLS"]


def test_a_missing_ca_bundle_is_named(tmp_path):
    cfg = DwhCfg.redshift().set("CLUSTER", SSL_ROOT_CERT="no-such-bundle.pem").write(tmp_path / "dwh.cfg")
    from sparkify.errors import WarehouseError
    from sparkify.warehouse import Warehouse

    with pytest.raises((ConfigError, WarehouseError), match=r"\[CLUSTER\] SSL_ROOT_CERT in .*dwh.cfg cannot be read "
                                                            r"\(No such file or directory: .*no-such-bundle.pem\)"):
        Warehouse(load_config(cfg)).connect()


def test_without_a_system_trust_store_the_fix_is_named(tmp_path, monkeypatch):
    nowhere = ssl.DefaultVerifyPaths(str(tmp_path / "none.pem"), None, "SSL_CERT_FILE", str(tmp_path / "x.pem"),
                                     "SSL_CERT_DIR", str(tmp_path))
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: nowhere)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    config = load_config(DwhCfg.redshift().write(tmp_path / "dwh.cfg"), environ={})
    with pytest.raises(ConfigError, match=r"no system trust store to verify sparkify-dwh\..*'s TLS certificate .*set "
                                          r"\[CLUSTER\] SSL_ROOT_CERT in .* to a CA bundle \(for Redshift: "
                                          r"https://s3.amazonaws.com/redshift-downloads/amazon-trust-ca-bundle.crt\)"):
        tls.connect_kwargs(config)


def test_the_system_trust_store_is_pythons_not_the_wheels(redshift_config, monkeypatch, tmp_path):
    """Unset SSL_ROOT_CERT: the bundle this Python's OpenSSL uses (SSL_CERT_FILE first), passed as a file: libpq's
    `sslrootcert=system` would read the store of the machine that built psycopg2-binary's OpenSSL."""
    assert tls.connect_kwargs(redshift_config) == {"sslmode": "verify-full",
                                                   "sslrootcert": str(tls.system_trust_store())}
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    assert tls.connect_kwargs(redshift_config)["sslrootcert"] == str(bundle)


def test_a_local_socket_for_postgres_has_no_tls_options(local_config):
    assert tls.connect_kwargs(local_config) == {}
    remote = dataclasses.replace(local_config, cluster=dataclasses.replace(local_config.cluster, host="db.example"))
    assert tls.connect_kwargs(remote)["sslmode"] == "verify-full"


@pytest.mark.parametrize("kind, host, reason", [
    ("verified", "localhost", None),
    ("verified", "127.0.0.1", "IP address mismatch, certificate is not valid for '127.0.0.1'."),
    ("self-signed", "localhost", "self-signed certificate"),
    ("expired", "localhost", "certificate has expired"),
    ("plaintext", "localhost", "no TLS"),
])
def test_probe_says_why_openssl_refuses(kind, host, reason, tls_endpoint, test_ca):
    endpoint = tls_endpoint(kind)
    mark = endpoint.mark()
    assert tls.probe(host, endpoint.port, str(test_ca.path)) == reason
    assert all(c.to_server == 0 for c in endpoint.since(mark))  # the probe sends no startup packet
