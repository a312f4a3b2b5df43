"""Benchmark of keyframe thinning (``transforms.core.thinning``) on synthetic tracks.

Generates seeded smooth-with-noise tracks (random-walk velocity, slowly changing size, small
per-frame detector noise, like ``bench/generate.py``'s), thins each at the given tolerances and
prints, per scenario: keyframes in and out, compression ratio, the largest reconstruction error
seen (against the tolerance), and the time per track (wall clock and CPU, mean / p50 / max).
Also times adversarial tracks (pure noise, and a static box whose jitter sits in the band where
the IoU test needs exact checks). No assertions: it reports.

Usage::

    .venv/bin/python bench/thinning_bench.py [--tracks 200] [--frames 1800] [--seed 0]
        [--greedy 10] [--quick] [--only bbox:iou:0.9,bbox:px:2]
        [--backend auto|compiled|numpy] [--compare]

``--only`` runs the named scenarios alone (ids: ``TAG:TOLERANCE``, listed by ``--list``).
``--backend`` picks the search (``select_keyframes``'s backend; auto: compiled when numba is
installed); ``--compare`` also runs the numpy search on the same tracks and prints its time per
keyframe and whether every track's count is identical. The first line gives the time of the
compiled search's first call (numba import plus compilation, or loading it from the cache).
``bench/run.py`` imports ``scenarios`` and ``measure`` to print the same figures.
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import generate
from transforms.core.thinning import (
    DEFAULT_MAX_SPAN,
    Tolerance,
    compiled,
    parse_tolerance,
    reconstruction_error,
    select_keyframes,
)

WIDTH, HEIGHT = 1920.0, 1080.0


def _walk(
    rng: np.random.Generator, n: int, start: float, lo: float, hi: float, vmax: float, accel: float
) -> np.ndarray:
    """The generator's smooth bounded 1-D path (bench.generate), with positional bounds."""
    return generate._walk(rng, n, start, lo=lo, hi=hi, vmax=vmax, accel_sigma=accel)


def bbox_track(rng: np.random.Generator, n: int) -> np.ndarray:
    """(top, left, height, width) of a moving person- or car-sized box with detector noise."""
    if rng.random() < 0.5:
        h0 = rng.uniform(120.0, 480.0)
        w0 = h0 * rng.uniform(0.35, 0.5)
        vx, vy = 3.0, 1.0
    else:
        w0 = rng.uniform(150.0, 450.0)
        h0 = w0 * rng.uniform(0.5, 0.7)
        vx, vy = 8.0, 1.5
    scale = np.exp(generate._reflect(np.cumsum(rng.normal(0.0, 0.002, n)), -0.4, 0.4))
    w, h = w0 * scale, h0 * scale
    cx = _walk(rng, n, rng.uniform(0.1, 0.9) * WIDTH, 0.03 * WIDTH, 0.97 * WIDTH, vx, 0.05)
    cy = _walk(rng, n, rng.uniform(0.3, 0.7) * HEIGHT, 0.2 * HEIGHT, 0.8 * HEIGHT, vy, 0.02)
    noise = rng.normal(0.0, rng.uniform(0.5, 1.0), (n, 4))
    x0 = cx - w / 2 + noise[:, 0]
    x1 = cx + w / 2 + noise[:, 1]
    y0 = cy - h / 2 + noise[:, 2]
    y1 = cy + h / 2 + noise[:, 3]
    return np.round(np.stack([y0, x0, y1 - y0, x1 - x0], axis=1), 2)


def point_track(rng: np.random.Generator, n: int) -> np.ndarray:
    """(x, y) of a moving keypoint with detector noise."""
    x = _walk(rng, n, rng.uniform(0.1, 0.9) * WIDTH, 0.0, WIDTH, 4.0, 0.05)
    y = _walk(rng, n, rng.uniform(0.2, 0.8) * HEIGHT, 0.0, HEIGHT, 2.0, 0.03)
    return np.stack([x, y], axis=1) + rng.normal(0.0, rng.uniform(0.5, 1.0), (n, 2))


def line_track(rng: np.random.Generator, n: int, vertices: int = 4) -> np.ndarray:
    """(x0, y0, x1, y1, ...) of a slowly shifting lane line with per-vertex noise."""
    base_x = np.linspace(0.3, 0.7, vertices) * WIDTH + rng.normal(0.0, 20.0, vertices)
    base_y = np.linspace(HEIGHT, 0.5 * HEIGHT, vertices)
    shift = generate._reflect(np.cumsum(rng.normal(0.0, 0.3, n)), -120.0, 120.0)
    sigma = rng.uniform(0.5, 1.0)
    xs = base_x + shift[:, None] * np.linspace(1.0, 0.4, vertices)
    xs += rng.normal(0.0, sigma, (n, vertices))
    ys = base_y + rng.normal(0.0, sigma, (n, vertices))
    return np.stack([xs, ys], axis=2).reshape(n, 2 * vertices)


def noise_bbox(rng: np.random.Generator, n: int) -> np.ndarray:
    """Adversarial: every frame an unrelated box (nothing to thin)."""
    top, left = rng.uniform(0, HEIGHT - 200, n), rng.uniform(0, WIDTH - 200, n)
    return np.stack([top, left, rng.uniform(20, 200, n), rng.uniform(20, 200, n)], axis=1)


def grey_band_bbox(rng: np.random.Generator, n: int) -> np.ndarray:
    """Adversarial for iou:0.9: a static 100x100 box shifted right by 5.3 px on every other
    frame (plus a little noise). IoU of the two is 0.899 < 0.9, but the shift passes the
    necessary cone, so nearly every shortcut of up to max_span frames is "grey": it needs the
    exact check, and fails it."""
    shift = np.where(np.arange(n) % 2 == 1, 5.3, 0.0) + rng.normal(0.0, 0.01, n)
    box = np.tile([300.0, 500.0, 100.0, 100.0], (n, 1))
    box[:, 1] += shift
    return box


def static_bbox(rng: np.random.Generator, n: int) -> np.ndarray:
    """A parked object: constant box, detector noise only (reach runs to max_span)."""
    return np.array([400.0, 800.0, 200.0, 300.0]) + rng.normal(0.0, 0.7, (n, 4))


@dataclass
class Scenario:
    name: str
    geometry: str
    tolerance: str
    make: Callable[[np.random.Generator, int], np.ndarray]
    tracks: int
    tag: str = ""  # short name for --only; the geometry when empty

    @property
    def id(self) -> str:
        """`bbox:iou:0.9`, `noise:px:2`: what --only selects by."""
        return f"{self.tag or self.geometry}:{self.tolerance}"


@dataclass
class ScenarioResult:
    """One scenario's figures (times in milliseconds per track)."""

    scenario: Scenario
    tolerance: Tolerance
    tracks: int
    frames: int
    keyframes_in: int
    keyframes_out: int
    max_error: float
    wall_ms: np.ndarray
    cpu_ms: np.ndarray
    greedy_ratio: float | None
    backend: str = "auto"
    counts: list[int] | None = None  # keyframes kept per track

    @property
    def cpu_us_per_keyframe(self) -> float:
        """CPU time per input keyframe, in microseconds."""
        return float(self.cpu_ms.sum()) * 1e3 / self.keyframes_in

    @property
    def compression(self) -> float:
        return self.keyframes_in / self.keyframes_out

    @property
    def error_text(self) -> str:
        """The largest error seen and its limit: `1-IoU 0.1000 (0.1000)`, `px 2.000 (2)`."""
        if self.tolerance.metric == "iou":
            return f"1-IoU {self.max_error:.4f} ({1 - self.tolerance.value:.4f})"
        return f"px {self.max_error:.3f} ({self.tolerance.value:g})"


def naive_greedy_count(t: np.ndarray, values: np.ndarray, tol: Tolerance, geometry: str) -> int:
    """Keyframes kept by "extend each shortcut until the first invalid end" (for comparison)."""
    n, i, count = len(t), 0, 1
    while i < n - 1:
        j = i + 1
        while j + 1 < n:
            keep = np.zeros(j + 2 - i, dtype=bool)
            keep[[0, -1]] = True
            err = reconstruction_error(t[i : j + 2], values[i : j + 2], keep, tol.metric, geometry)
            limit = tol.value * (1 + 1e-9) + 1e-6 if tol.metric == "px" else 1 - tol.value + 1e-9
            if err.max() > limit:
                break
            j += 1
        i, count = j, count + 1
    return count


HEADER = (
    f"{'scenario':<25} {'tol':<8} {'tracks':>6} {'kf in':>8} {'kf out':>7} {'ratio':>6} "
    f"{'kf/track':>8}  {'max error (limit)':<22} {'ms/track: mean':>14} {'p50':>6} {'p95':>6} "
    f"{'max':>6} {'cpu':>6} {'us/kf':>6}  {'greedy/ours':>11}"
)


def measure(
    scenario: Scenario, frames: int, seed: int, greedy_tracks: int, backend: str = "auto"
) -> ScenarioResult:
    """Thin the scenario's tracks one by one, timing each; compare with greedy on a few.

    ``backend``: ``select_keyframes``'s search ("auto", "compiled" or "numpy").
    """
    tol = parse_tolerance(scenario.tolerance)
    salt = zlib.crc32(f"{scenario.name} {scenario.tolerance}".encode())
    rng = np.random.default_rng([seed, salt])
    t = np.arange(frames, dtype=np.int64)
    tracks = [scenario.make(rng, frames) for _ in range(scenario.tracks)]
    # warm-up (imports, compilation, buffers)
    select_keyframes(t, tracks[0], tol, scenario.geometry, backend=backend)
    kept, wall, cpu, worst = [], [], [], 0.0
    for values in tracks:
        w0, c0 = time.perf_counter(), time.process_time()
        keep = select_keyframes(t, values, tol, scenario.geometry, backend=backend)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
        kept.append(int(keep.sum()))
        err = reconstruction_error(t, values, keep, tol.metric, scenario.geometry).max()
        worst = max(worst, float(err))
    greedy = None
    if greedy_tracks:
        few = tracks[:greedy_tracks]
        naive = sum(naive_greedy_count(t, v, tol, scenario.geometry) for v in few)
        greedy = naive / sum(kept[: len(few)])
    return ScenarioResult(
        scenario=scenario,
        tolerance=tol,
        tracks=len(tracks),
        frames=frames,
        keyframes_in=frames * len(tracks),
        keyframes_out=sum(kept),
        max_error=worst,
        wall_ms=np.array(wall) * 1e3,
        cpu_ms=np.array(cpu) * 1e3,
        greedy_ratio=greedy,
        backend=backend,
        counts=kept,
    )


def format_result(r: ScenarioResult) -> str:
    """One line under HEADER."""
    greedy = f"{r.greedy_ratio:.3f}" if r.greedy_ratio is not None else ""
    wall_ms, cpu_ms = r.wall_ms, r.cpu_ms
    return (
        f"{r.scenario.name:<25} {r.tolerance!s:<8} {r.tracks:>6} {r.keyframes_in:>8} "
        f"{r.keyframes_out:>7} {r.compression:>5.1f}x {r.keyframes_out / r.tracks:>8.1f}  "
        f"{r.error_text:<22} {wall_ms.mean():>14.1f} {np.median(wall_ms):>6.1f} "
        f"{np.percentile(wall_ms, 95):>6.1f} {wall_ms.max():>6.1f} {cpu_ms.mean():>6.1f} "
        f"{r.cpu_us_per_keyframe:>6.2f}  {greedy:>11}"
    )


def run(
    scenario: Scenario,
    frames: int,
    seed: int,
    greedy_tracks: int,
    backend: str = "auto",
    compare: bool = False,
) -> ScenarioResult:
    """Measure a scenario and print its line; with ``compare``, also the numpy search's time
    per keyframe on the same tracks and whether its counts are identical."""
    result = measure(scenario, frames, seed, greedy_tracks, backend)
    print(format_result(result), flush=True)
    if compare:
        numpy = measure(scenario, frames, seed, 0, "numpy")
        same = "identical" if numpy.counts == result.counts else "DIFFERENT"
        print(
            f"{'':<25} numpy search: {numpy.cpu_us_per_keyframe:.2f} us/kf, "
            f"{numpy.keyframes_out} kf out, counts per track {same}",
            flush=True,
        )
    return result


def scenarios(tracks: int = 200, greedy: int = 10) -> list[tuple[Scenario, int]]:
    """Every scenario with its greedy comparison count; the adversarial ones get a tenth of
    the tracks (at least one)."""
    n, few, g = tracks, max(1, tracks // 10), greedy
    return [
        (Scenario("bbox smooth+noise", "bbox", "iou:0.9", bbox_track, n), g),
        (Scenario("bbox smooth+noise", "bbox", "px:2", bbox_track, n), g),
        (Scenario("bbox smooth+noise", "bbox", "iou:0.95", bbox_track, n), g),
        (Scenario("point smooth+noise", "point", "px:2", point_track, n), g),
        (Scenario("line (4 vertices)", "line", "px:2", line_track, n), g),
        (Scenario("bbox static (parked)", "bbox", "iou:0.9", static_bbox, few, "static"), 0),
        (Scenario("bbox static (parked)", "bbox", "px:2", static_bbox, few, "static"), 0),
        (Scenario("adversarial: pure noise", "bbox", "iou:0.9", noise_bbox, few, "noise"), 0),
        (Scenario("adversarial: pure noise", "bbox", "px:2", noise_bbox, few, "noise"), 0),
        (Scenario("adversarial: grey band", "bbox", "iou:0.9", grey_band_bbox, few, "grey"), 0),
    ]


def select(all_scenarios: list[tuple[Scenario, int]], ids: list[str]) -> list[tuple[Scenario, int]]:
    """The scenarios named by `ids`, in that order; ValueError naming the unknown ones."""
    by_id = {s.id: (s, g) for s, g in all_scenarios}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise ValueError(f"unknown scenario {', '.join(unknown)}; known: {', '.join(by_id)}")
    return [by_id[i] for i in ids]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracks", type=int, default=200, help="tracks per main scenario")
    parser.add_argument("--frames", type=int, default=1800, help="frames per track")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--greedy", type=int, default=10, help="tracks compared with greedy")
    parser.add_argument("--quick", action="store_true", help="20 tracks per scenario")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated scenario ids to run, e.g. bbox:iou:0.9,bbox:px:2 (see --list)",
    )
    parser.add_argument("--list", action="store_true", help="list the scenario ids and exit")
    parser.add_argument("--backend", default="auto", choices=["auto", "compiled", "numpy"])
    parser.add_argument(
        "--compare", action="store_true", help="also run the numpy search and compare counts"
    )
    args = parser.parse_args(argv)
    chosen = scenarios(20 if args.quick else args.tracks, args.greedy)
    if args.list:
        for scenario, _ in chosen:
            print(f"{scenario.id:<16} {scenario.name}")
        return
    if args.only:
        try:
            chosen = select(chosen, [i.strip() for i in args.only.split(",") if i.strip()])
        except ValueError as e:
            parser.error(str(e))
    print(
        f"keyframer thinning bench: {args.frames} frames per track, seed {args.seed}, "
        f"max_span {DEFAULT_MAX_SPAN}; times per track (wall clock unless 'cpu'); "
        f"greedy/ours: keyframes kept by extend-until-first-failure greedy over ours, "
        f"on the first {args.greedy} tracks; us/kf: CPU per input keyframe"
    )
    if args.backend != "numpy" and compiled.AVAILABLE:
        first = compiled.warm_up()
        print(f"search: compiled (numba); first call {first:.2f} s (compilation or cache load)")
    else:
        print("search: numpy")
    print(HEADER)
    for scenario, greedy_tracks in chosen:
        run(scenario, args.frames, args.seed, greedy_tracks, args.backend, args.compare)


if __name__ == "__main__":
    main()
