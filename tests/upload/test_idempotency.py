"""Import names from content and target: the same batch twice is one import, a re-run into a
fresh output imports nothing, a prefix re-imports on purpose, FAILED resumes with a suffix."""

from __future__ import annotations

from labelbox_upload import ImportClient, ImportOutcome, Target, upload_batches
from labelbox_upload.naming import import_name
from tests.upload.conftest import batch_bytes, fast_settings


def test_the_same_batch_twice_is_one_import(server, api_key):
    client = ImportClient(fast_settings(server), api_key)
    content = batch_bytes(1)
    first = client.upload_batch("b", content)
    second = client.upload_batch("copy-of-b", content)  # file name does not matter
    assert first.outcome is ImportOutcome.IMPORTED
    assert second.outcome is ImportOutcome.SKIPPED and not second.created
    assert second.import_name == first.import_name and len(server.created) == 1
    assert len(server.ops("create")) == 1
    assert second.summary.accepted == 20  # the verdicts are read back for a skipped batch too


def test_a_rerun_with_a_fresh_client_imports_nothing(server, api_key):
    batches = [(f"batch-{i}", batch_bytes(i)) for i in range(6)]
    first = upload_batches(fast_settings(server), api_key, batches)
    assert {r.outcome for r in first} == {ImportOutcome.IMPORTED}
    again = upload_batches(fast_settings(server), api_key, batches)
    assert {r.outcome for r in again} == {ImportOutcome.SKIPPED}
    assert len(server.created) == 6 and len(server.ops("create")) == 6


def test_a_prefix_makes_a_deliberate_reimport(server, api_key):
    content = batch_bytes(1)
    ImportClient(fast_settings(server), api_key).upload_batch("b", content)
    again = ImportClient(fast_settings(server, name_prefix="redo1"), api_key).upload_batch(
        "b", content
    )
    assert again.outcome is ImportOutcome.IMPORTED and again.import_name.startswith("redo1-")
    assert len(server.created) == 2


def test_the_name_depends_on_content_and_target_only():
    a, b = Target("mal", "p1"), Target("label_import", "p1")
    content = batch_bytes(1)
    assert import_name(a, content) == import_name(Target("mal", "p1"), content)
    assert (
        len(
            {
                import_name(a, content),
                import_name(b, content),
                import_name(Target("mal", "p2"), content),
                import_name(a, content + b"\n"),
            }
        )
        == 4
    )
    assert import_name(a, content).startswith("keyframer-") and len(import_name(a, content)) == 42
    assert import_name(a, content, attempt=2).endswith("-r2")


def test_a_failed_import_resumes_under_the_next_attempt_name_and_never_repeats(
    make_server, api_key
):
    failing = {"on": True}
    server = make_server(fail_import=lambda name, content: failing["on"])
    settings = fast_settings(server)
    content = batch_bytes(1)
    first = ImportClient(settings, api_key).upload_batch("b", content)
    assert first.outcome is ImportOutcome.FAILED and first.attempt == 0
    assert sum(server.judged.values()) == 0  # a FAILED import judged nothing

    failing["on"] = False
    resumed = ImportClient(settings, api_key).upload_batch("b", content)
    assert resumed.outcome is ImportOutcome.IMPORTED and resumed.attempt == 1
    assert resumed.import_name == import_name(settings.target, content, attempt=1)

    third = ImportClient(settings, api_key).upload_batch("b", content)
    assert third.outcome is ImportOutcome.SKIPPED and third.attempt == 1
    assert [i.final_state for i in server.created] == ["FAILED", "FINISHED"]
    assert set(server.judged.values()) == {1}
