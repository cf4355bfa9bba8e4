"""sparkify.s3io's retry policy, without S3: which errors are retried, how long it waits, how many attempts, and the
budget that ends a load against an S3 that keeps failing."""

from __future__ import annotations

import http.client
from dataclasses import replace

import pytest
from botocore import exceptions as bx

from sparkify import s3io
from sparkify.errors import LoadError


def client_error(code: str, status: int, message: str = "") -> bx.ClientError:
    return bx.ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
                          "GetObject")


class Client:
    """Stands for a boto3 client: what the budget is kept per."""


@pytest.mark.parametrize("error, kind", [
    (client_error("SlowDown", 503), "throttled"),
    (client_error("ThrottlingException", 400), "throttled"),
    (client_error("RequestLimitExceeded", 400), "throttled"),
    (client_error("InternalError", 500), "transient"),
    (client_error("ServiceUnavailable", 503), "transient"),
    (client_error("BadGateway", 502), "transient"),
    (client_error("GatewayTimeout", 504), "transient"),
    (client_error("RequestTimeout", 400), "transient"),
    (bx.ConnectionClosedError(endpoint_url="http://s3"), "transient"),
    (bx.EndpointConnectionError(endpoint_url="http://s3"), "transient"),
    (bx.ReadTimeoutError(endpoint_url="http://s3"), "transient"),
    (bx.ResponseStreamingError(error="Connection broken: reset"), "transient"),
    (bx.IncompleteReadError(actual_bytes=5, expected_bytes=10), "transient"),
    (ConnectionResetError(104, "Connection reset by peer"), "transient"),
    (client_error("NoSuchKey", 404), None),
    (client_error("AccessDenied", 403), None),
    (client_error("NoSuchBucket", 404), None),
    (client_error("PreconditionFailed", 412), None),
    (bx.NoCredentialsError(), None),
    (http.client.HTTPException("not S3's"), None),
    (ValueError("a bug"), None),
])
def test_which_errors_are_retried(error, kind):
    assert s3io.classify(error) == kind


@pytest.mark.parametrize("error, text", [
    (client_error("SlowDown", 503, "Please reduce your request rate."), "503 SlowDown (Please reduce your request rate.)"),
    (client_error("InternalError", 500), "500 InternalError"),
    (bx.IncompleteReadError(actual_bytes=5, expected_bytes=10),
     "IncompleteReadError: 5 read, but total bytes expected is 10."),
])
def test_errors_are_described_in_a_few_words(error, text):
    assert s3io.describe(error) == text


@pytest.mark.parametrize("throttled", [False, True])
def test_backoff_is_full_jitter_under_an_exponential_ceiling(throttled, monkeypatch):
    policy = s3io.RetryPolicy()
    monkeypatch.setattr(s3io.random, "uniform", lambda low, high: high)  # the ceiling itself
    base = policy.throttle_delay if throttled else policy.base_delay
    ceilings = [policy.delay(retry, throttled) for retry in range(1, 12)]
    assert ceilings[:3] == [base, 2 * base, 4 * base]
    assert max(ceilings) == policy.max_delay
    monkeypatch.setattr(s3io.random, "uniform", lambda low, high: low)
    assert policy.delay(3, throttled) == 0


def failing(errors: list[BaseException], then="ok"):
    """An attempt that raises `errors` in turn, then returns `then`; .calls counts its calls."""
    def attempt():
        attempt.calls += 1
        if errors:
            raise errors.pop(0)
        return then
    attempt.calls = 0
    return attempt


@pytest.fixture
def no_waiting(monkeypatch):
    policy = replace(s3io.POLICY, base_delay=0, throttle_delay=0)
    monkeypatch.setattr(s3io, "POLICY", policy)
    return policy


def test_transient_errors_are_retried_until_success(no_waiting):
    attempt = failing([client_error("SlowDown", 503), ConnectionResetError(), client_error("InternalError", 500)])
    assert s3io.call(Client(), "read s3://b/k", attempt) == "ok"
    assert attempt.calls == 4


def test_other_errors_are_not_retried(no_waiting):
    attempt = failing([client_error("AccessDenied", 403)])
    with pytest.raises(bx.ClientError):
        s3io.call(Client(), "read s3://b/k", attempt)
    assert attempt.calls == 1


def test_an_object_that_keeps_failing_is_named_after_max_attempts(no_waiting):
    attempt = failing([client_error("SlowDown", 503, "Please reduce your request rate.")] * 50)
    with pytest.raises(LoadError) as info:
        s3io.call(Client(), "read s3://b/song_data/A/x.json", attempt)
    assert attempt.calls == no_waiting.max_attempts
    assert str(info.value).startswith("cannot read s3://b/song_data/A/x.json: 503 SlowDown (Please reduce your request "
                                      f"rate.), {no_waiting.max_attempts} attempts in ")


def test_the_budget_absorbs_one_fault_per_object_at_any_scale(no_waiting, monkeypatch):
    monkeypatch.setattr(s3io, "POLICY", replace(no_waiting, budget_base=10))
    client = Client()
    for _ in range(5000):  # every request fails once
        assert s3io.call(client, "read s3://b/k", failing([ConnectionResetError()])) == "ok"
    assert s3io.budget(client).retries == 5000


def test_the_budget_ends_a_load_against_an_s3_that_fails_everything_twice(no_waiting, monkeypatch):
    monkeypatch.setattr(s3io, "POLICY", replace(no_waiting, budget_base=10))
    client = Client()
    done = 0
    with pytest.raises(LoadError) as info:
        for _ in range(1000):
            s3io.call(client, "read s3://b/k", failing([client_error("InternalError", 500)] * 2))
            done += 1
    # a budget of 10 + 1 per success, 2 retries per object: the 10th object finds it spent after 19 retries
    assert done == 9
    assert "the retry budget is spent (19 retries for 9 successful requests)" in str(info.value)


def test_aws_max_attempts_sets_the_number_of_attempts(monkeypatch, no_waiting):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    attempt = failing([client_error("InternalError", 500)] * 5)
    with pytest.raises(LoadError, match="2 attempts in"):
        s3io.call(Client(), "read s3://b/k", attempt)
    assert attempt.calls == 2


def test_the_toolkits_clients_leave_retrying_to_s3io():
    client = s3io.s3_client("http://127.0.0.1:9", "us-west-2")
    assert client.meta.config.retries["total_max_attempts"] == 1
