"""S3 calls that survive transient faults: one retry policy for listing, reading and writing objects.

botocore retries a request (its "standard" mode: 3 attempts, backoff, a retry quota shared by the client),
but never an error raised while a response body is read (a connection reset, a body cut short:
IncompleteRead), and one SlowDown per object makes it wait a second's jitter each time. The toolkit's S3
clients therefore make one attempt per call (botocore's retries off) and every call goes through `call()`:

- retried: 500, 502, 503 and 504 answers, throttling codes (SlowDown, Throttling, RequestLimitExceeded...),
  request timeouts, connection errors (refused, reset, closed, timed out) and a body that breaks or ends
  early while it is read;
- attempts: POLICY.max_attempts per request (6, or AWS_MAX_ATTEMPTS / the profile's max_attempts if set);
- backoff: exponential with full jitter, rand(0, min(max_delay, base * 2 ** retry)), base 50 ms (200 ms
  after a throttling answer), at most 5 s: an object that keeps failing fails its run within seconds;
- budget: a client may retry budget_base (200) times plus once per successful request, so a fault on every
  object is absorbed at any number of objects while an S3 that fails everything ends the run quickly;
- an object read whole is read again whole; a streamed one resumes from its last byte received with a
  Range request and If-Match on its ETag, so a changed object fails instead of being spliced (as
  s3transfer's downloads do).

An error that is not transient, a request that fails max_attempts times, or an empty budget raises LoadError:
one line naming the object (or listing) and the error.
"""

from __future__ import annotations

import io
import logging
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, TypeVar

from sparkify.awsnames import split_s3
from sparkify.errors import LoadError

log = logging.getLogger("sparkify.s3")

T = TypeVar("T")

THROTTLING_CODES = frozenset({
    "SlowDown", "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
    "RequestThrottledException", "TooManyRequestsException", "RequestLimitExceeded", "BandwidthLimitExceeded",
    "ProvisionedThroughputExceededException", "LimitExceededException",
})
TRANSIENT_CODES = frozenset({"InternalError", "ServiceUnavailable", "RequestTimeout", "RequestTimeoutException",
                             "PriorRequestNotComplete"})
TRANSIENT_STATUS = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.05
    throttle_delay: float = 0.2
    max_delay: float = 5.0
    budget_base: int = 200
    budget_per_success: float = 1.0

    def delay(self, retry: int, throttled: bool) -> float:
        """Seconds to wait before retry number `retry` (1-based): full jitter over an exponential ceiling."""
        base = self.throttle_delay if throttled else self.base_delay
        return random.uniform(0, min(self.max_delay, base * 2 ** (retry - 1)))


POLICY = RetryPolicy()


class Budget:
    """The retries one client may still make: its policy's budget_base, plus budget_per_success per successful
    request (thread-safe: the read-ahead threads share a client)."""

    def __init__(self, retry_policy: RetryPolicy):
        self.policy = retry_policy
        self._lock = threading.Lock()
        self.successes = 0
        self.retries = 0

    def succeeded(self) -> None:
        with self._lock:
            self.successes += 1

    def take(self) -> bool:
        with self._lock:
            if self.retries >= self.policy.budget_base + self.policy.budget_per_success * self.successes:
                return False
            self.retries += 1
            return True


_budgets: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_budgets_lock = threading.Lock()


def budget(client) -> Budget:
    """The retry budget (and policy) of `client`, made at its first call."""
    with _budgets_lock:
        found = _budgets.get(client)
        if found is None:
            found = _budgets[client] = Budget(policy())
        return found


def policy() -> RetryPolicy:
    """POLICY, with max_attempts from AWS_MAX_ATTEMPTS or the AWS profile's max_attempts when one is set (the
    SDKs' own setting for the number of attempts)."""
    import botocore.exceptions
    import botocore.session

    try:
        configured = botocore.session.get_session().get_config_variable("max_attempts")
    except (botocore.exceptions.BotoCoreError, OSError, ValueError):  # an unreadable AWS config: the default
        configured = None
    if configured:
        try:
            return RetryPolicy(**{**POLICY.__dict__, "max_attempts": max(1, int(configured))})
        except (TypeError, ValueError):
            pass
    return POLICY


def s3_client(endpoint_url: str | None = None, region: str | None = None, *, pool: int = 10):
    """A boto3 S3 client that makes one attempt per call (this module retries); credentials from the default
    chain; thread-safe once made. `pool`: connections kept open (one per reading thread)."""
    import boto3
    from botocore.config import Config as BotoConfig

    kwargs = {}
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    if region:
        kwargs["region_name"] = region
    config = BotoConfig(max_pool_connections=pool, connect_timeout=10, read_timeout=60,
                        retries={"mode": "standard", "total_max_attempts": 1})
    return boto3.client("s3", config=config, **kwargs)


# --------------------------------------------------------------------------- classifying errors

def aws_errors() -> tuple[type[Exception], ...]:
    """botocore's error classes, imported when needed: an `except aws_errors():` clause evaluates it only when
    an exception is raised, so importing this module does not import botocore."""
    from botocore.exceptions import BotoCoreError, ClientError

    return BotoCoreError, ClientError


def classify(exc: BaseException) -> str | None:
    """"throttled", "transient" or None (not worth retrying) for an error of an S3 call."""
    from botocore import exceptions as bx

    response = getattr(exc, "response", None)
    if isinstance(exc, bx.ClientError) and isinstance(response, dict):
        code = error_code(exc)
        if code in THROTTLING_CODES:
            return "throttled"
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in TRANSIENT_CODES or status in TRANSIENT_STATUS:
            return "transient"
        return None
    if isinstance(exc, (bx.ConnectionError, bx.HTTPClientError, bx.IncompleteReadError)):
        return "transient"  # refused, reset, closed, timed out; a body that broke or ended early
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return "transient"
    try:
        from urllib3.exceptions import HTTPError as Urllib3Error
    except ImportError:  # pragma: no cover - botocore depends on urllib3
        return None
    return "transient" if isinstance(exc, Urllib3Error) else None


def error_code(exc: BaseException) -> str | None:
    """The S3 error code of a ClientError ("NoSuchKey", "SlowDown"...), else None."""
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def describe(exc: BaseException) -> str:
    """The error in a few words for a one-line message: "503 SlowDown (Please reduce your request rate.)"."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = error.get("Message")
        return " ".join(str(p) for p in (status, error.get("Code"), f"({message})" if message else None) if p)
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text and text[0] else type(exc).__name__


# --------------------------------------------------------------------------- retrying

def call(client, what: str, attempt: Callable[[], T], *, request: bool = True) -> T:
    """attempt() until it succeeds, retrying transient errors (see the module docstring). `what` says what is
    done to which object ("read s3://b/k"), for log lines and the LoadError that ends it. `request`: whether a
    success counts as a successful request for the budget (reading the next chunk of a body does not)."""
    spent = budget(client)
    rp = spent.policy
    retry = 0
    started = time.monotonic()
    while True:
        try:
            result = attempt()
        except LoadError:
            raise
        except Exception as exc:
            kind = classify(exc)
            if kind is None:
                raise
            retry += 1
            if retry >= rp.max_attempts:
                raise LoadError(f"cannot {what}: {describe(exc)}, {retry} attempts in "
                                f"{time.monotonic() - started:.1f} s (S3 keeps failing it: try again later)") from None
            if not spent.take():
                raise LoadError(f"cannot {what}: {describe(exc)}; the retry budget is spent ({spent.retries} retries "
                                f"for {spent.successes} successful requests): S3 keeps failing, try again later") from None
            pause = rp.delay(retry, kind == "throttled")
            log.log(logging.INFO if spent.retries == 1 else logging.DEBUG,
                    "S3: %s: %s; attempt %d of %d in %.2f s (retries of this load are logged at debug level)",
                    what, describe(exc), retry + 1, rp.max_attempts, pause)
            time.sleep(pause)
            continue
        if request or retry:
            spent.succeeded()
        return result


# --------------------------------------------------------------------------- operations

def list_pages(client, bucket: str, prefix: str) -> Iterator[dict]:
    """The ListObjectsV2 pages of a key prefix, each retried on its own (same continuation token)."""
    kwargs = {"Bucket": bucket, "Prefix": prefix}
    page_no = 0
    while True:
        page_no += 1
        page = call(client, f"list s3://{bucket}/{prefix} (page {page_no})",
                    lambda: client.list_objects_v2(**kwargs))
        yield page
        token = page.get("NextContinuationToken") if page.get("IsTruncated") else None
        if not token:
            return
        kwargs["ContinuationToken"] = token


def read_bytes(client, url: str) -> bytes:
    """The whole content of an object, the request and the reading of its body retried together."""
    bucket, key = split_s3(url)

    def attempt() -> bytes:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
        try:
            return body.read()  # (botocore checks the length: a body cut short raises IncompleteReadError)
        finally:
            body.close()

    return call(client, f"read {url}", attempt)


def open_stream(client, url: str, buffer_size: int) -> BinaryIO:
    """A buffered binary stream over an object's body that resumes where it broke (see ResumableBody)."""
    return io.BufferedReader(ResumableBody(client, url), buffer_size)


def head_size(client, url: str) -> int | None:
    """The size of an object, or None if it does not exist."""
    bucket, key = split_s3(url)

    def attempt() -> int | None:
        try:
            return client.head_object(Bucket=bucket, Key=key).get("ContentLength")
        except Exception as exc:
            if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    return call(client, f"read {url}", attempt)


def put_bytes(client, url: str, body: bytes, content_type: str) -> None:
    bucket, key = split_s3(url)
    call(client, f"write {url}", lambda: client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type))


class ResumableBody(io.RawIOBase):
    """An object's body as a raw stream. When reading breaks (a reset, a body cut short) it asks again for the
    rest, from the first byte not yet received, with If-Match on the ETag of the first answer: a changed
    object then fails (412) instead of being spliced. The requests share the client's policy and budget.
    It reads at most CHUNK bytes at a time: what a broken read had half-received is lost, so that is what
    a break costs (s3transfer reads 256 KB at a time too)."""

    CHUNK = 256 * 1024

    def __init__(self, client, url: str):
        self._client = client
        self._url = url
        self._bucket, self._key = split_s3(url)
        self._position = 0
        self._etag: str | None = None
        self._length: int | None = None
        self._body = None
        call(client, f"read {url}", lambda: self._request(first=True))

    def _request(self, first: bool = False) -> None:
        kwargs = {"Bucket": self._bucket, "Key": self._key}
        if not first:
            kwargs.update(Range=f"bytes={self._position}-", IfMatch=self._etag)
        try:
            response = self._client.get_object(**kwargs)
        except Exception as exc:
            if error_code(exc) == "PreconditionFailed":
                raise LoadError(f"cannot read {self._url}: the object changed while it was read (its ETag is no "
                                f"longer {self._etag}): run the load again") from None
            raise
        if first:
            self._etag = response.get("ETag")
            self._length = response.get("ContentLength")
        self._body = response["Body"]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._length is not None and self._position >= self._length:
            return 0

        def attempt() -> bytes:
            if self._body is None:
                self._request()
            try:
                return self._body.read(min(len(buffer), self.CHUNK))
            except Exception:
                self._drop()
                raise

        data = call(self._client, f"read {self._url}", attempt, request=False)
        n = len(data)
        buffer[:n] = data
        self._position += n
        return n

    def _drop(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            body.close()

    def close(self) -> None:
        try:
            self._drop()
        finally:
            super().close()
