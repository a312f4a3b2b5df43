"""The benchmark's data sets, generated once and cached in bench/data/ by name.

A data set's `.info` file records the generator's arguments and a hash of its code, and the
generator's summary (videos, rows and frames per video, kinds): if the arguments or the code
changed, the data set is generated again.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.datasets.constants import DEFAULT_TARGET_FRAMES
from bench.harness.children import ROOT, run_measured
from bench.harness.progress import Progress
from bench.harness.sizes import size_label

DATA_DIR = ROOT / "bench" / "data"
SINGLE, PER_VIDEO = "single", "per-video"
VIDEOS = 200
TRACKS = 5
TARGET_FRAMES = DEFAULT_TARGET_FRAMES
FRAME_BASE = 0
# The code whose change makes a cached data set stale (not this module, nor the presets).
_NOT_GENERATOR = ("cache.py", "presets.py")


@dataclass(frozen=True)
class DataSpec:
    """What a generated data set is: the generator's arguments."""

    rows: int
    videos: int = VIDEOS
    tracks: int = TRACKS
    layout: str = SINGLE
    tracks_max: int | None = None
    target_frames: int = TARGET_FRAMES
    full_precision: bool = False

    @property
    def name(self) -> str:
        """`1m-200v-5t.parquet`; `-2-3t`, `-300f`, `-full` mark the non-default options."""
        tracks = f"{self.tracks}-{self.tracks_max}" if self.tracks_max else f"{self.tracks}"
        base = f"{size_label(self.rows)}-{self.videos}v-{tracks}t"
        base += f"-{self.target_frames}f" if self.target_frames != TARGET_FRAMES else ""
        base += "-full" if self.full_precision else ""
        return f"{base}.parquet" if self.layout == SINGLE else f"{base}-per-video"

    def generator_args(self) -> list[str]:
        """`python -m bench.generate`'s arguments for this data set (but --out)."""
        args = ["--rows", str(self.rows), "--videos", str(self.videos), "--tracks",
                str(self.tracks), "--target-frames", str(self.target_frames), "--frame-base",
                str(FRAME_BASE), "--layout", self.layout]  # fmt: skip
        if self.tracks_max:
            args += ["--tracks-max", str(self.tracks_max)]
        return args + (["--full-precision"] if self.full_precision else [])


def dataset_name(rows: int, videos: int, tracks: int, layout: str, **shape: object) -> str:
    """The cached file (or directory) name of a data set."""
    return DataSpec(rows, videos, tracks, layout, **shape).name


def generator_fingerprint() -> str:
    """A hash of the generator's code: a cached data set from another version is regenerated."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    sources = [p for p in sorted(here.glob("*.py")) if p.name not in _NOT_GENERATOR]
    for path in [*sources, ROOT / "transforms" / "core" / "columns.py"]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _generate(spec: DataSpec, path: Path, info: Path, stamp: str, progress: Progress | None):
    """Generate `spec` into `path` (through a temporary name) and write its `.info`."""
    data_dir = path.parent
    data_dir.mkdir(parents=True, exist_ok=True)
    for stale in (path, info):
        _remove(stale)
    tmp = data_dir / f".{path.name}.tmp-{os.getpid()}"
    _remove(tmp)
    if progress:
        progress(f"generating {path.name} ({spec.rows:,} rows, {spec.layout} layout)")
    log = data_dir / f".{path.name}.log"
    argv = [sys.executable, "-m", "bench.generate", *spec.generator_args(), "--out", str(tmp)]
    run_measured(f"generate {path.name}", argv, log, progress)
    summary = [
        line for line in log.read_text().splitlines() if line.startswith(("videos:", "kinds:"))
    ]
    log.unlink()
    os.rename(tmp, path)
    info.write_text("\n".join([stamp, *summary]) + "\n")


def dataset(
    rows: int,
    *,
    videos: int = VIDEOS,
    tracks: int = TRACKS,
    layout: str = SINGLE,
    data_dir: Path = DATA_DIR,
    progress: Progress | None = None,
    **shape: object,
) -> tuple[Path, str]:
    """The data set's path, generating it unless cached; and the generator's shape summary.

    `shape`: DataSpec's other fields (tracks_max, target_frames, full_precision).
    """
    spec = DataSpec(rows, videos, tracks, layout, **shape)
    path = data_dir / spec.name
    info = data_dir / f"{path.name}.info"
    stamp = f"generator {generator_fingerprint()}: {' '.join(spec.generator_args())}"
    cached = path.exists() and info.exists() and info.read_text().split("\n", 1)[0] == stamp
    if not cached:
        _generate(spec, path, info, stamp, progress)
    elif progress:
        progress(f"using cached {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path, spec_shape(spec, data_dir)


def spec_shape(spec: DataSpec, data_dir: Path = DATA_DIR) -> str:
    """The generator's summary of a generated data set (videos, rows and frames per video)."""
    info = data_dir / f"{spec.name}.info"
    if not info.exists():
        return "(shape unknown: no .info file)"
    return "\n".join(info.read_text().strip().splitlines()[1:])


def dataset_shape(
    rows: int,
    *,
    videos: int,
    tracks: int,
    layout: str = SINGLE,
    data_dir: Path = DATA_DIR,
    **shape: object,
) -> str:
    """spec_shape of the data set with these arguments."""
    return spec_shape(DataSpec(rows, videos, tracks, layout, **shape), data_dir)


def frames_per_video(shape: str) -> float | None:
    """The mean frames per video in a shape summary."""
    m = re.search(r"frames/video: min \d+ mean (\d+)", shape)
    return float(m.group(1)) if m else None
