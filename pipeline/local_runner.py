"""Tunes for local batch runs on Beam's FnApiRunner, whose SDK worker runs in this process.

Each changes only how this process holds memory, which runner it picks or how long a bundle's
end waits, never what a pipeline computes; none reaches a Dataflow worker, which is another
process.
"""

from __future__ import annotations

from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

# Runners that execute in this process with the FnApiRunner's in-process worker.
LOCAL_RUNNERS = {None, "DirectRunner", "FnApiRunner", "SwitchingDirectRunner"}


def spreads_work(pipeline_options: PipelineOptions) -> bool:
    """Whether a run has workers to spread files and batches over: not so where the runner
    is local with one worker (`--direct_num_workers 1`, the default; 0 means one per core)."""
    if pipeline_options.view_as(StandardOptions).runner not in LOCAL_RUNNERS:
        return True
    return pipeline_options.view_as(DirectOptions).direct_num_workers != 1


def tune_local_runner(pipeline_options: PipelineOptions) -> None:
    """Run local batch jobs on Beam's FnApiRunner directly, with its state cache off and
    committed bag state released (`release_committed_bag_state`).

    The DirectRunner first tries to download and start the Prism runner, then falls back to
    the FnApiRunner for batch pipelines: going there directly saved ~0.8 s a run here and works
    offline; --direct_running_mode and --direct_num_workers keep their meaning.
    The state cache sizes every value it holds by walking objects, which cost ~30% of a run;
    our state is read once per key, so the cache buys nothing. Beam 2.77 reads its size from a
    module constant for the in-process worker (no pipeline option); workers elsewhere read
    --max_cache_memory_usage_mb instead.
    Bundles end without waiting for the step-time sampler's tick (`quicken_state_sampling`).
    """
    standard = pipeline_options.view_as(StandardOptions)
    runner = standard.runner
    if runner in (None, "DirectRunner") and not standard.streaming:
        standard.runner = "FnApiRunner"
    if runner in LOCAL_RUNNERS:
        from apache_beam.runners.portability.fn_api_runner import worker_handlers

        worker_handlers.STATE_CACHE_SIZE_MB = 0
        release_committed_bag_state()
        quicken_state_sampling()


def release_committed_bag_state() -> None:
    """Make the SDK's bag state forget what it has handed to the runner at a bundle's commit.

    Beam 2.77's `SynchronousBagRuntimeState` keeps every `add` of a bundle in a list until
    the bundle ends and commits each key's list to the runner's state, but keeps the list
    until the whole bundle's state is dropped, after every key is committed. In one process,
    where the runner's copy is this process's memory too, the commit then holds the bundle's
    state twice: the local runner gives the stateful step a file's rows in one bundle, so at
    5M rows that was 131 MiB twice (peak RSS 514 MiB on 1-minute videos by hand; 445 with this).
    After its commit a key's object reads exactly the committed state from the runner again,
    as a new object for the same key would.

    A key's values are committed one at a time, each freed as the runner takes it: Beam's
    commit encodes all of a key's values of the bundle into one blob first. With state keyed
    by bucket (~20 values of ~0.3 MiB a bucket at 5M rows) those blobs were ~7 MiB each,
    allocated while the values were still held and leaving holes that the next blob did not
    fit: peak RSS on 5M clips 570 MiB, 472-483 MiB one value at a time. Idempotent.
    """
    from apache_beam.runners.worker.bundle_processor import SynchronousBagRuntimeState

    commit = SynchronousBagRuntimeState.commit
    if getattr(commit, "releases_committed", False):
        return

    def commit_and_release(self) -> None:
        added = self._added_elements
        if len(added) <= 1:
            commit(self)
        else:
            for i in range(len(added)):  # a clear, if any, goes with the first
                self._added_elements = [added[i]]
                added[i] = None
                commit(self)
                self._cleared = False
        # What was cleared and added now lives in the runner's state, which `read` reads.
        self._cleared = False
        self._added_elements = []

    commit_and_release.releases_committed = True
    commit_and_release.beam_commit = commit
    SynchronousBagRuntimeState.commit = commit_and_release


# How often the in-process worker's state sampler (the step-time metrics) wakes, at most.
LOCAL_SAMPLING_PERIOD_MS = 5


def quicken_state_sampling() -> None:
    """Make the in-process worker's bundles end without waiting for the step-time sampler.

    Beam 2.77's SDK worker times its steps with a sampling thread per bundle that sleeps
    2 ms, then 1.2 times longer each tick up to 200 ms (`DEFAULT_SAMPLING_PERIOD_MS`), and
    the bundle's end joins that thread, so waits for the sleep it is in: up to 200 ms a
    bundle of a second or more (measured: 0.24-0.33 s of a 5M-row run's six bundles, the
    main thread idle; 0.01 s with this). Here the sampler's period is 5 ms: its thread
    sleeps without the GIL, so ticking more often costs ~200 wake-ups a second, and the
    steps' times are sampled more finely, not less. Applies to samplers made after it, in
    this process only. Idempotent.
    """
    from apache_beam.runners.worker import statesampler

    if getattr(statesampler.StateSampler, "local_period", False):
        return

    class LocalStateSampler(statesampler.StateSampler):
        local_period = True

        def __init__(self, prefix, counter_factory, sampling_period_ms=LOCAL_SAMPLING_PERIOD_MS):
            period = min(sampling_period_ms, LOCAL_SAMPLING_PERIOD_MS)
            super().__init__(prefix, counter_factory, period)

    statesampler.StateSampler = LocalStateSampler
