"""Fit a run into a time slot: cases in priority order, stop before the budget ends.

A GPU is often lent for minutes (a Colab runtime, a shared box); a run that is stopped from
outside writes nothing useful. With ``--budget SECONDS`` the suite orders its cases by
``Case.priority`` and, before each case, predicts its wall time from the cases run so far;
a case that would not finish inside the budget (less a reserve for writing the report) is
skipped and named in the report.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from .harness import Case


def by_priority(cases: Sequence[Case]) -> list[Case]:
    """Cases sorted by ``priority``, then by their original (name) order."""
    return sorted(cases, key=lambda c: c.priority)  # sort is stable: name order within ties


class Budget:
    """Wall-time accounting for one run.

    Args:
      seconds: the whole budget, or None for no limit.
      reserve: seconds kept back for writing results and charts at the end.
      safety: factor on the predicted time of the next case.
    """

    def __init__(
        self, seconds: float | None, *, reserve: float | None = None, safety: float = 1.5
    ) -> None:
        if seconds is not None and seconds <= 0:
            raise ValueError(f"--budget must be > 0 seconds, got {seconds}")
        self.seconds = seconds
        self.reserve = (
            min(30.0, 0.05 * seconds) if reserve is None and seconds else (reserve or 0.0)
        )
        self.safety = safety
        self.durations: list[float] = []

    def predict(self) -> float:
        """Predicted wall time of the next case: the median so far (0 before the first)."""
        return statistics.median(self.durations) if self.durations else 0.0

    def fits(self, elapsed: float) -> bool:
        """Whether another case is predicted to finish inside the budget."""
        if self.seconds is None:
            return True
        return elapsed + self.safety * self.predict() <= self.seconds - self.reserve

    def record(self, duration: float) -> None:
        """Note the wall time a case took."""
        self.durations.append(duration)
