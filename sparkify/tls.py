"""TLS of the connections to `[CLUSTER]` (ENGINE = redshift or postgres): verified, never plaintext.

Every connection over TCP asks libpq for `sslmode=verify-full`: TLS, the server's certificate checked against a
CA bundle, and the host name checked against the certificate, before the password or any SQL is sent. The
bundle is `[CLUSTER] SSL_ROOT_CERT` if set, else the system trust store as this Python's OpenSSL finds it
(`ssl.get_default_verify_paths()`: SSL_CERT_FILE, else the distribution's bundle such as
/etc/ssl/certs/ca-certificates.crt). Redshift's certificates are issued by AWS Certificate Manager, "publicly
trusted by most operating systems" (https://docs.aws.amazon.com/redshift/latest/mgmt/connecting-ssl-support.html),
so the system store verifies them; AWS's bundle (REDSHIFT_CA_BUNDLE) serves where it does not.

libpq's own `sslrootcert=system` is not used: psycopg2-binary bundles its own OpenSSL, whose default store is
the directory of the machine that built the wheel (/host/tmp/libpq.build/cert.pem for 2.9.13), not this one's.

- ENGINE = redshift: always verify-full. A Unix-socket HOST is refused (a Redshift endpoint is a host name, and
  libpq does no TLS on a socket), and so is SSL_MODE = disable (sparkify.config.rules).
- ENGINE = postgres: verify-full over TCP too. A Unix-socket HOST is local and has no TLS (libpq ignores sslmode
  there); `[CLUSTER] SSL_MODE = disable` lets a server on this machine (a loopback HOST) be reached without TLS.

A refused connection is explained in one line with its fix (`explain`): the server offers no TLS, or its
certificate is not signed by a trusted CA (self-signed or unknown), has expired, or names another host
(`probe` asks the server for its certificate, as libpq did, and lets OpenSSL say why it is refused).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
import struct
from pathlib import Path

from sparkify.errors import ConfigError

REDSHIFT_CA_BUNDLE = "https://s3.amazonaws.com/redshift-downloads/amazon-trust-ca-bundle.crt"
SSL_REQUEST = 80877103  # PostgreSQL's SSLRequest code: the client asks the server for TLS
PROBE_TIMEOUT_S = 5


def is_socket(host: str | None) -> bool:
    """Whether libpq reads `host` as a Unix-socket directory (an absolute path, or @ for Linux's abstract
    namespace), where it does no TLS."""
    return bool(host) and host.startswith(("/", "@"))


def is_loopback(host: str | None) -> bool:
    """Whether `host` is this machine: localhost, a loopback address, or a Unix socket."""
    if not host or is_socket(host) or host.lower().rstrip(".") in ("localhost", "localhost.localdomain"):
        return bool(host)
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def system_trust_store() -> Path | None:
    """The system's CA bundle as this Python's OpenSSL finds it (SSL_CERT_FILE first), or None."""
    paths = ssl.get_default_verify_paths()
    for candidate in (os.environ.get(paths.openssl_cafile_env), paths.cafile, paths.openssl_cafile):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def root_cert(config) -> Path:
    """The CA bundle that verifies [CLUSTER]'s certificate; ConfigError naming the fix when there is none."""
    given = config.cluster.ssl_root_cert
    where = f" in {config.path}" if config.path else ""
    if given is not None:
        try:
            with open(given, "rb"):
                pass
        except OSError as exc:
            raise ConfigError(f"[CLUSTER] SSL_ROOT_CERT{where} cannot be read ({exc.strerror}: {given}): give the CA "
                              "bundle (PEM) that signs the server's certificate, or leave it unset to use the "
                              "system trust store") from None
        return Path(given)
    found = system_trust_store()
    if found is None:
        paths = ssl.get_default_verify_paths()
        raise ConfigError(f"no system trust store to verify {config.cluster.host}'s TLS certificate (looked for "
                          f"{paths.openssl_cafile_env}, {paths.cafile or paths.openssl_cafile}): install the "
                          f"system's CA certificates (ca-certificates), or set [CLUSTER] SSL_ROOT_CERT{where} to a "
                          f"CA bundle (for Redshift: {REDSHIFT_CA_BUNDLE})")
    return found


def connect_kwargs(config) -> dict:
    """libpq's TLS keywords for [CLUSTER] (see the module docstring)."""
    cluster = config.cluster
    if config.engine != "redshift" and is_socket(cluster.host):
        return {}  # a local socket: libpq does no TLS there, whatever sslmode says
    if cluster.ssl_mode == "disable":  # refused for redshift and for a remote host by sparkify.config.rules
        return {"sslmode": "disable"}
    return {"sslmode": "verify-full", "sslrootcert": str(root_cert(config))}


def probe(host: str, port: int, cafile: str, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """Why the server at host:port fails verify-full against `cafile`, as OpenSSL words it ("certificate has
    expired", "self-signed certificate", "unable to get local issuer certificate", "IP address mismatch..."), or
    "no TLS"; None when it passes or cannot be reached. Sends PostgreSQL's SSLRequest and the TLS handshake
    only: no credentials, no SQL."""
    context = ssl.create_default_context(cafile=cafile)
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            raw.sendall(struct.pack("!ii", 8, SSL_REQUEST))
            if raw.recv(1) != b"S":
                return "no TLS"
            with context.wrap_socket(raw, server_hostname=host):
                return None
    except ssl.SSLCertVerificationError as exc:
        return exc.verify_message or str(exc)
    except (OSError, ssl.SSLError):
        return None


def explain(text: str, config) -> str | None:
    """The one-line cause and fix of a connection that libpq refused for TLS (its error `text`), or None when
    the failure is not about TLS."""
    cluster = config.cluster
    host, port = cluster.host, cluster.db_port
    lower = text.lower()
    redshift = config.engine == "redshift"
    if "does not support ssl" in lower:
        fix = ("Redshift always offers TLS: check that [CLUSTER] HOST is the cluster's or workgroup's endpoint "
               "(create_cluster.py writes it)" if redshift else
               "enable TLS on the server (ssl = on, with a certificate)" + (
                   ", or, for this server on this machine only, set [CLUSTER] SSL_MODE = disable"
                   if is_loopback(host) else ""))
        return (f"{host}:{port} offers no TLS, and the password is never sent in plaintext: {fix}")
    if "certificate verify failed" not in lower and "does not match host name" not in lower:
        return None
    store = (f"[CLUSTER] SSL_ROOT_CERT ({cluster.ssl_root_cert})" if cluster.ssl_root_cert is not None
             else "the system trust store")
    try:
        cafile = str(root_cert(config))
    except ConfigError:
        cafile = None
    reason = probe(host, port, cafile) if cafile else None
    name_fix = ("set [CLUSTER] HOST to the endpoint create_cluster.py writes (not an IP address or another name)"
                if redshift else "set [CLUSTER] HOST to a name the certificate carries")
    if "does not match host name" in lower or "mismatch" in (reason or "").lower():
        return f"{host}'s TLS certificate is for another host name: {name_fix}"
    if reason and "expired" in reason:
        return (f"{host}'s TLS certificate has expired (OpenSSL: {reason}): the server's certificate must be "
                "renewed" + ("" if redshift else " (by whoever runs the server)"))
    if reason and "not yet valid" in reason:
        return f"{host}'s TLS certificate is not valid yet (OpenSSL: {reason}): check this machine's clock"
    cause = f" (OpenSSL: {reason})" if reason else ""
    fix = (f"if the system store lacks Amazon's roots, set [CLUSTER] SSL_ROOT_CERT to AWS's Redshift bundle "
           f"({REDSHIFT_CA_BUNDLE}); a certificate no CA signs is not Redshift's" if redshift else
           "set [CLUSTER] SSL_ROOT_CERT to the CA certificate that signed the server's certificate")
    return f"{host}'s TLS certificate is not signed by a CA in {store}{cause}: {fix}"

