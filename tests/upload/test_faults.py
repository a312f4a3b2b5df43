"""Each fault kind, injected once into each kind of request: the batch still imports exactly
once, and the client does what the fault calls for (look up after a lost answer, wait out
Retry-After, give up on a permanent error)."""

from __future__ import annotations

import time

import pytest

from labelbox_upload import ImportClient, ImportOutcome, Uploader
from labelbox_upload.errors import DeadlineExceededError
from labelbox_upload.naming import import_name
from labelbox_upload.pacing import Deadline, Pacer
from tests.labelbox_server import FAULT_KINDS, FaultPlan
from tests.upload.conftest import batch_bytes, fast_settings


@pytest.mark.parametrize("op", ["create", "lookup", "status"])
@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_one_fault_of_each_kind_still_imports_once(make_server, api_key, kind, op):
    server = make_server(faults=FaultPlan(slow_seconds=0.4))
    server.script(kind, op=op)
    settings = fast_settings(server, request_timeout_seconds=0.2)
    content = batch_bytes(7, 10, rejects=2)
    result = ImportClient(settings, api_key).upload_batch("b7", content)

    assert server.injected == {kind: 1}
    assert result.outcome is ImportOutcome.IMPORTED, result.error
    assert result.created  # even when the create's answer was lost
    assert len(server.created) == 1 and server.created[0].content == content
    assert sorted(server.judged.values()) == [1] * 10
    assert result.summary.accepted == 8 and result.summary.rejected_by_error == {
        "FeatureNotFound": 2
    }


def test_answer_lost_after_create_is_looked_up_not_created_again(make_server, api_key):
    server = make_server()
    server.script("drop_after", op="create")
    result = ImportClient(fast_settings(server), api_key).upload_batch("b", batch_bytes(1))
    assert result.outcome is ImportOutcome.IMPORTED and result.created
    assert len(server.ops("create")) == 1  # the look-up found it: no second create
    assert len(server.created) == 1


def test_create_dropped_before_acting_is_sent_again(make_server, api_key):
    server = make_server()
    server.script("drop_before", op="create")
    result = ImportClient(fast_settings(server), api_key).upload_batch("b", batch_bytes(1))
    assert result.outcome is ImportOutcome.IMPORTED
    assert len(server.ops("create")) == 2 and len(server.created) == 1


def test_429_waits_for_retry_after(make_server, api_key):
    server = make_server(faults=FaultPlan(retry_after="0.3"))
    server.script("429", op="create")
    result = ImportClient(fast_settings(server), api_key).upload_batch("b", batch_bytes(1))
    assert result.outcome is ImportOutcome.IMPORTED
    first, second = server.ops("create")
    assert second["t"] - first["t"] >= 0.3  # backoff alone would be ~5 ms


def test_permanent_4xx_is_not_retried(make_server, api_key):
    server = make_server()
    settings = fast_settings(server, endpoint=server.url + "/not-graphql")
    result = ImportClient(settings, api_key).upload_batch("b", batch_bytes(1))
    assert result.outcome is ImportOutcome.FAILED
    assert "HTTP 404" in result.error
    assert len(server.requests) == 1


def test_failure_rows_are_counted_by_error_name(make_server, api_key):
    server = make_server(faults=FaultPlan(row_failure_rate=0.5, seed=3))
    result = ImportClient(fast_settings(server), api_key).upload_batch("b", batch_bytes(1, 40))
    failures = [r for r in server.created[0].statuses if r["status"] == "FAILURE"]
    assert 5 < len(failures) < 35
    assert result.summary.rejected_by_error == {"InternalError": len(failures)}
    assert {r.uuid for r in result.summary.rejected} == {r["uuid"] for r in failures}


def test_an_import_that_never_finishes_times_out_and_resumes_without_a_new_create(
    make_server, api_key
):
    server = make_server(polls_before_done=10**9)
    content = batch_bytes(1)
    settings = fast_settings(server, deadline_seconds=0.3)
    start = time.monotonic()
    result = ImportClient(settings, api_key).upload_batch("b", content)
    assert result.outcome is ImportOutcome.TIMED_OUT and result.state == "RUNNING"
    assert time.monotonic() - start < 1.0  # the deadline holds
    server.created[0].polls_left = 2  # still RUNNING at the first look-up, then done
    again = ImportClient(settings, api_key).upload_batch("b", content)
    assert again.outcome is ImportOutcome.IMPORTED and not again.created
    assert len(server.ops("create")) == 1


def test_a_slow_import_does_not_hold_the_others_up(make_server, api_key):
    server = make_server()
    settings = fast_settings(server, concurrency=4, poll_max_seconds=0.02)
    slow = batch_bytes(0)
    slow_name = import_name(settings.target, slow)
    server.polls_before_done = lambda name: 60 if name == slow_name else 2
    batches = [("slow", slow)] + [(f"fast-{i}", batch_bytes(i + 1)) for i in range(12)]
    with Uploader(settings, api_key) as uploader:
        order = [r.batch for r in uploader.upload_all(batches)]
    assert order[-1] == "slow" and sorted(order[:-1]) == sorted(b for b, _ in batches[1:])


def test_pacer_keeps_the_rate_and_respects_the_deadline():
    pacer = Pacer(60 * 200)  # 200/s, bursts of 200
    deadline = Deadline(10)
    start = time.monotonic()
    for _ in range(400):
        pacer.acquire(deadline)
    assert time.monotonic() - start >= 0.9
    slow = Pacer(1)
    slow.acquire(deadline)  # the burst token
    with pytest.raises(DeadlineExceededError):
        slow.acquire(Deadline(0.5))  # the next comes in 60 s
