"""The processed-objects ledger: each input object converted once across scheduled runs.

Planning rules on a local directory (no pipeline); overlapping launches against a GCS server
that honours preconditions (tests/dataflow/gcs_preconditions.py); whole runs, Beam pipeline and
commit step included, against the session's GCS-protocol server on loopback.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import uuid

import pytest

from pipeline import ledger, ledger_store
from pipeline.ledger import SourceObject
from tests.dataflow.ledger_runs import scheduled_run

T0 = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def _write(path: str, data: bytes = b"x") -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


def _claim(root: str, pattern: str, now: dt.datetime) -> ledger.Claim | None:
    store = ledger.open_store(root)
    return ledger.claim(store, ledger.match_objects(pattern), clock=lambda: now)


def _paths(claim: ledger.Claim | None) -> list[str]:
    return [o.path for o in claim.objects] if claim else []


# --- planning, on a local directory ------------------------------------------------------


def test_match_follows_beams_glob_syntax(tmp_path):
    a = _write(f"{tmp_path}/preds/a.parquet")
    b = _write(f"{tmp_path}/preds/day/b.parquet")
    _write(f"{tmp_path}/preds/day/c.avro")
    deep = [o.path for o in ledger.match_objects(f"{tmp_path}/preds/**.parquet")]
    flat = [o.path for o in ledger.match_objects(f"{tmp_path}/preds/*.parquet")]
    assert deep == [a, b]
    assert flat == [a]
    assert (
        ledger.match_objects(f"{tmp_path}/preds/a.parquet")[0].generation == os.stat(a).st_mtime_ns
    )


def test_a_second_run_takes_only_new_objects(tmp_path):
    root, pattern = f"{tmp_path}/out/_ledger", f"{tmp_path}/preds/**.parquet"
    a = _write(f"{tmp_path}/preds/a.parquet")
    first = _claim(root, pattern, T0)
    assert _paths(first) == [a]
    assert ledger.commit(ledger.open_store(root), first)
    assert _claim(root, pattern, T0 + HOUR) is None  # nothing new
    b = _write(f"{tmp_path}/preds/2026-12-02/b.parquet")
    second = _claim(root, pattern, T0 + 24 * HOUR)
    assert _paths(second) == [b]
    assert (first.seq, second.seq) == (1, 2)


def test_an_uncommitted_claim_blocks_its_objects_until_its_lease_ends_then_is_redone_exactly(
    tmp_path,
):
    root, pattern = f"{tmp_path}/out/_ledger", f"{tmp_path}/preds/*.parquet"
    store = ledger.open_store(root)
    a, b = _write(f"{tmp_path}/preds/a.parquet"), _write(f"{tmp_path}/preds/b.parquet")
    failed = _claim(root, pattern, T0)  # never committed: the run died
    c = _write(f"{tmp_path}/preds/c.parquet")
    running = _claim(root, pattern, T0 + HOUR)  # the lease of the first is still on
    assert _paths(running) == [c]
    ledger.commit(store, running)
    redo = _claim(root, pattern, T0 + 13 * HOUR)
    assert redo.redo and _paths(redo) == [a, b] and redo.work_id == failed.work_id
    assert redo.input == f"{a},{b}"
    ledger.commit(store, redo)
    assert _claim(root, pattern, T0 + 14 * HOUR) is None
    assert ledger.pending(ledger.match_objects(pattern), ledger.read_state(store)) == []


def test_a_rewritten_object_is_new_work(tmp_path):
    root, pattern = f"{tmp_path}/out/_ledger", f"{tmp_path}/preds/*.parquet"
    a = _write(f"{tmp_path}/preds/a.parquet", b"v1")
    ledger.commit(ledger.open_store(root), _claim(root, pattern, T0))
    os.utime(a, ns=(os.stat(a).st_atime_ns, os.stat(a).st_mtime_ns + 1_000_000))
    again = _claim(root, pattern, T0 + HOUR)
    assert _paths(again) == [a]


def test_commit_is_idempotent_and_work_ids_ignore_order():
    objs = [SourceObject("gs://b/p/a.parquet", 1), SourceObject("gs://b/p/b.parquet", 2)]
    assert ledger.work_id(objs) == ledger.work_id(reversed(objs))
    assert ledger.work_id(objs) != ledger.work_id([objs[0], SourceObject(objs[1].path, 3)])


def test_commit_twice_commits_once(tmp_path):
    store = ledger.open_store(str(tmp_path / "ledger"))
    _write(f"{tmp_path}/p/a.parquet")
    claim = _claim(str(tmp_path / "ledger"), f"{tmp_path}/p/*.parquet", T0)
    assert ledger.commit(store, claim) is True
    assert ledger.commit(store, claim) is False
    assert store.list("commits/") == [f"commits/{claim.work_id}.json"]


def test_an_object_that_cannot_be_named_in_input_is_refused(tmp_path):
    _write(f"{tmp_path}/p/odd[1].parquet")
    with pytest.raises(ValueError, match=r"odd\[1\]"):
        _claim(str(tmp_path / "ledger"), f"{tmp_path}/p/*.parquet", T0)


def test_ledger_location_is_under_the_outputs_fixed_part():
    assert ledger.ledger_location("gs://b/lb/{date}", "auto") == "gs://b/lb/_keyframer_ledger"
    assert ledger.ledger_location("gs://b/lb", "auto") == "gs://b/lb/_keyframer_ledger"
    assert ledger.ledger_location("gs://b/lb/{date}", "gs://b/l/") == "gs://b/l"
    assert ledger.ledger_location("gs://b/lb", None) is None
    with pytest.raises(ValueError):
        ledger.ledger_location("gs://{date}/x", "auto")


# --- overlapping launches, against a server that honours ifGenerationMatch ----------------


@pytest.fixture
def strict_bucket(strict_gcs):
    name = f"kf-ledger-{uuid.uuid4().hex[:10]}"
    strict_gcs.make_bucket(name)
    return name


def test_the_servers_precondition_is_real(strict_gcs, strict_bucket):
    store = ledger_store.GcsStore(f"gs://{strict_bucket}/l", client=strict_gcs.client)
    assert store.create("x.json", b"1") is True
    assert store.create("x.json", b"2") is False
    assert store.read("x.json") == b"1"


def test_a_launch_that_loses_the_race_plans_again_and_takes_the_rest(strict_gcs, strict_bucket):
    for name in ("a", "b", "c"):
        strict_gcs.upload_bytes(b"x", f"gs://{strict_bucket}/preds/{name}.parquet")
    client = strict_gcs.client
    root = f"gs://{strict_bucket}/out/_keyframer_ledger"
    store = ledger_store.GcsStore(root, client=client)
    matched = ledger.match_objects(f"gs://{strict_bucket}/preds/*.parquet", client=client)
    seen_by_rival = matched[:2]  # the rival listed before c arrived
    rival: list[ledger.Claim] = []

    class RivalFirst:
        """Our store, except that a rival launch claims just before our first write."""

        def __getattr__(self, name):
            return getattr(store, name)

        def create(self, name, data):
            if not rival:
                rival.append(ledger.claim(store, seen_by_rival, clock=lambda: T0))
            return store.create(name, data)

    ours = ledger.claim(RivalFirst(), matched, clock=lambda: T0)
    assert rival[0].seq == 1 and ours.seq == 2
    assert _paths(rival[0]) == [o.path for o in matched[:2]]
    assert _paths(ours) == [matched[2].path]


def test_simultaneous_launches_never_share_an_object(strict_gcs, strict_bucket):
    for i in range(6):
        strict_gcs.upload_bytes(b"x", f"gs://{strict_bucket}/preds/{i}.parquet")
    root = f"gs://{strict_bucket}/out/_keyframer_ledger"
    matched = ledger.match_objects(f"gs://{strict_bucket}/preds/*.parquet", strict_gcs.client)
    claims: list[ledger.Claim | None] = []
    start = threading.Barrier(4)

    def launch(i: int) -> None:
        store = ledger_store.GcsStore(root, client=strict_gcs.client)
        start.wait()
        # each launch saw a different part of the folder (it was still growing)
        claims.append(ledger.claim(store, matched[: 3 + i], clock=lambda: T0))

    threads = [threading.Thread(target=launch, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    taken = [o for c in claims if c for o in c.objects]
    assert len(taken) == len(set(taken))  # no object in two claims
    assert sorted(taken) == matched  # and none left out
    assert sorted(c.seq for c in claims if c) == list(range(1, len([c for c in claims if c]) + 1))


def test_overlapping_commits_of_one_work_commit_once(strict_gcs, strict_bucket):
    strict_gcs.upload_bytes(b"x", f"gs://{strict_bucket}/preds/a.parquet")
    store = ledger_store.GcsStore(f"gs://{strict_bucket}/l", client=strict_gcs.client)
    matched = ledger.match_objects(f"gs://{strict_bucket}/preds/*", strict_gcs.client)
    claim = ledger.claim(store, matched, clock=lambda: T0)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(ledger.commit(store, claim)))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, True]


# --- whole runs: Beam pipeline and commit step, on the GCS-protocol server -----------------


def _conversions(emulator, out: str) -> list[str]:
    """Which input objects were converted, one entry per conversion."""
    return sorted(u[len(out) + 1 :] for u in emulator.list_objects(out + "/"))


@pytest.mark.pipeline
@pytest.mark.gcs
def test_two_runs_over_a_growing_folder_convert_each_object_once(gcs_emulator, gcs_bucket):
    preds, out = f"gs://{gcs_bucket}/preds", f"gs://{gcs_bucket}/converted"
    root = ledger.ledger_location(f"gs://{gcs_bucket}/labelbox/{{date}}", "auto")
    gcs_emulator.upload_bytes(b"a", f"{preds}/2026-12-01/a.parquet")
    gcs_emulator.upload_bytes(b"b", f"{preds}/2026-12-01/b.parquet")
    first = scheduled_run(f"{preds}/**.parquet", out, root, now=T0, run_id="r1")
    gcs_emulator.upload_bytes(b"c", f"{preds}/2026-12-02/c.parquet")
    second = scheduled_run(f"{preds}/**.parquet", out, root, now=T0 + 24 * HOUR, run_id="r2")
    third = scheduled_run(f"{preds}/**.parquet", out, root, now=T0 + 48 * HOUR, run_id="r3")
    assert len(first.objects) == 2 and len(second.objects) == 1 and third is None
    assert _conversions(gcs_emulator, out) == [
        "r1/preds/2026-12-01/a.parquet.out",
        "r1/preds/2026-12-01/b.parquet.out",
        "r2/preds/2026-12-02/c.parquet.out",
    ]
    state = ledger.read_state(ledger.open_store(root))
    assert state.committed == {first.work_id, second.work_id}


@pytest.mark.pipeline
@pytest.mark.gcs
def test_a_run_killed_before_its_commit_is_redone_exactly_and_harmlessly(gcs_emulator, gcs_bucket):
    from labelbox_upload.naming import import_name
    from labelbox_upload.targets import Target

    preds, out = f"gs://{gcs_bucket}/preds", f"gs://{gcs_bucket}/converted"
    root = f"gs://{gcs_bucket}/labelbox/_keyframer_ledger"
    store = ledger.open_store(root)
    gcs_emulator.upload_bytes(b"a", f"{preds}/a.parquet")
    scheduled_run(f"{preds}/*.parquet", out, root, now=T0, run_id="r1")
    gcs_emulator.upload_bytes(b"b", f"{preds}/b.parquet")
    gcs_emulator.upload_bytes(b"c", f"{preds}/c.parquet")
    commits_before = store.list("commits/")
    with pytest.raises(Exception, match="died before its commit"):
        day2 = T0 + 24 * HOUR
        scheduled_run(
            f"{preds}/*.parquet", out, root, now=day2, run_id="r2", killed_before_commit=True
        )
    assert store.list("commits/") == commits_before  # the ledger's verdict did not change
    gcs_emulator.upload_bytes(b"d", f"{preds}/d.parquet")
    redo = scheduled_run(f"{preds}/*.parquet", out, root, now=T0 + 48 * HOUR, run_id="r3")
    assert redo.redo and _paths(redo) == [f"{preds}/b.parquet", f"{preds}/c.parquet"]
    # The redo wrote the same bytes, so content-derived import names find the failed run's
    # imports instead of making new ones.
    target = Target("model_run", "model-run-1")
    for name in ("b", "c"):
        failed = gcs_emulator.read_bytes(f"{out}/r2/preds/{name}.parquet.out")
        redone = gcs_emulator.read_bytes(f"{out}/r3/preds/{name}.parquet.out")
        assert import_name(target, failed) == import_name(target, redone)
    last = scheduled_run(f"{preds}/*.parquet", out, root, now=T0 + 72 * HOUR, run_id="r4")
    assert _paths(last) == [f"{preds}/d.parquet"]
    assert [c for c in _conversions(gcs_emulator, out) if not c.startswith("r2/")] == [
        "r1/preds/a.parquet.out",
        "r3/preds/b.parquet.out",
        "r3/preds/c.parquet.out",
        "r4/preds/d.parquet.out",
    ]


def test_a_preview_claims_nothing(tmp_path):
    root, pattern = f"{tmp_path}/out/_ledger", f"{tmp_path}/preds/*.parquet"
    a = _write(f"{tmp_path}/preds/a.parquet")
    store = ledger.open_store(root)
    objects, redo = ledger.preview(store, ledger.match_objects(pattern), lambda: T0)
    assert [o.path for o in objects] == [a] and not redo
    assert store.list("claims/") == []


def test_a_failed_work_whose_object_changed_is_redone_once_without_it(tmp_path):
    root, pattern = f"{tmp_path}/out/_ledger", f"{tmp_path}/preds/*.parquet"
    store = ledger.open_store(root)
    a, b = _write(f"{tmp_path}/preds/a.parquet"), _write(f"{tmp_path}/preds/b.parquet")
    _claim(root, pattern, T0)  # fails: never committed
    os.utime(b, ns=(os.stat(b).st_atime_ns, os.stat(b).st_mtime_ns + 1_000_000))  # rewritten
    redo = _claim(root, pattern, T0 + 13 * HOUR)
    assert redo.redo and _paths(redo) == [a]
    # while the partial redo runs, nobody else takes it up again
    new_b = _claim(root, pattern, T0 + 14 * HOUR)
    assert not new_b.redo and _paths(new_b) == [b]
    assert _claim(root, pattern, T0 + 15 * HOUR) is None
    ledger.commit(store, redo)
    ledger.commit(store, new_b)
    # the original work never commits, but nothing of it is left to redo
    assert _claim(root, pattern, T0 + 48 * HOUR) is None
