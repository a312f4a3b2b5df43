"""Rows turned away, each with one reason: what validation and annotation building both report.

Row-level rules (`validation.REASONS`) and group-level rules (`annotations.GROUP_REASONS`)
reject rows the same way: positions in the table they looked at, a reason code per row and a
human-readable detail. `Rejections` collects them once and turns them into counts and
dead-letter records, so every path that rejects rows reports them alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from transforms.core.deadletter import dead_letter_lines


class Rejections:
    """Rejected row positions with one reason and one detail each, read in position order."""

    def __init__(self) -> None:
        self._rows: list[np.ndarray] = []
        self._reasons: list[str] = []
        self._details: list[Sequence[str] | str] = []
        self._ordered: tuple[np.ndarray, list[str], list[str]] | None = None

    def add(self, rows: np.ndarray, reason: str, details: Sequence[str] | str) -> None:
        """Reject `rows` (positions) for `reason`; `details` is one text for all or one per row."""
        if len(rows):
            self._rows.append(np.asarray(rows, dtype=np.int64))
            self._reasons.append(reason)
            self._details.append(details)
            self._ordered = None

    def __len__(self) -> int:
        return int(sum(len(r) for r in self._rows))

    def _order(self) -> tuple[np.ndarray, list[str], list[str]]:
        if self._ordered is None:
            if not self._rows:
                self._ordered = (np.zeros(0, dtype=np.int64), [], [])
            else:
                rows = np.concatenate(self._rows)
                reasons: list[str] = []
                details: list[str] = []
                for arr, reason, detail in zip(
                    self._rows, self._reasons, self._details, strict=True
                ):
                    reasons.extend([reason] * len(arr))
                    details.extend([detail] * len(arr) if isinstance(detail, str) else detail)
                order = np.argsort(rows, kind="stable")
                picked = order.tolist()
                self._ordered = (
                    rows[order],
                    [reasons[i] for i in picked],
                    [details[i] for i in picked],
                )
        return self._ordered

    @property
    def rows(self) -> np.ndarray:
        """Rejected positions, sorted."""
        return self._order()[0]

    @property
    def reasons(self) -> list[str]:
        """One reason code per rejected row, in position order."""
        return self._order()[1]

    @property
    def details(self) -> list[str]:
        """One detail per rejected row, in position order."""
        return self._order()[2]

    def counts(self) -> dict[str, int]:
        """`{"rejected.<reason>": rows}`, as the run's counters name them."""
        return {f"rejected.{r}": n for r, n in Counter(self.reasons).items()}

    def dead_letters(
        self,
        table: pa.Table,
        source: str | None = None,
        first_row: int | None = None,
        extra_columns: dict[str, str] | None = None,
    ) -> list[bytes]:
        """The dead-letter records of the rejected rows of `table` (see deadletter)."""
        if not self._rows:
            return []
        rows, reasons, details = self._order()
        return dead_letter_lines(table, rows, reasons, details, source, first_row, extra_columns)
