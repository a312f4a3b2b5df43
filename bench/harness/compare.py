"""Output identity: two programs' batch files must have the same names and bytes."""

from __future__ import annotations

import filecmp
from pathlib import Path


class OutputMismatchError(AssertionError):
    """Two programs wrote different batch files for the same input."""


def batch_files(output: Path) -> list[str]:
    """The batch file names in `output`, sorted."""
    return sorted(p.name for p in output.glob("batch-*.ndjson"))


def compare_outputs(outputs: dict[str, Path]) -> int:
    """Check every output directory has the same batch files, byte for byte, as the first.

    Returns the number of batch files; raises OutputMismatchError naming the first difference.
    """
    (ref_name, ref), *others = outputs.items()
    names = batch_files(ref)
    if not names:
        raise OutputMismatchError(f"{ref_name} wrote no batch files in {ref}")
    for name, out in others:
        got = batch_files(out)
        if got != names:
            raise OutputMismatchError(
                f"batch file names differ: {ref_name} ({ref}) has {len(names)} "
                f"[{', '.join(names[:3])}...], {name} ({out}) has {len(got)} "
                f"[{', '.join(got[:3])}...]"
            )
        for file in names:
            if not filecmp.cmp(ref / file, out / file, shallow=False):
                raise OutputMismatchError(
                    f"{file} differs between {ref_name} ({ref / file}, "
                    f"{(ref / file).stat().st_size:,} bytes) and {name} ({out / file}, "
                    f"{(out / file).stat().st_size:,} bytes)"
                )
    return len(names)
