"""The run's time estimate: how long every fold, member and step of this run will take.

The training loops report each optimisation step they finish (``step(seconds)``); once a few have
been timed, the clock logs one estimate of the whole run, every remaining step of every member and
fold included, plus the validation passes, measured the same way (``validation(seconds)``) where
they ran before the estimate. It is said once, at the start of training, so that a user can stop a
run that will not fit their afternoon.
"""
from __future__ import annotations

import logging
import time

logger = logging.getLogger(__name__)

# steps timed before the estimate is said (the first ones are slower: allocation, caches)
_WARMUP_STEPS = 3
_TIMED_STEPS = 5


class RunClock:
    def __init__(self, total_steps: int, *, enabled: bool = True,
                 validation_share: float = 0.0) -> None:
        self.total_steps = int(total_steps)
        self.enabled = enabled and total_steps > 0
        # validation time per training step second, estimated by the loops from their sizes
        self.validation_share = validation_share
        self.started = time.perf_counter()
        self._steps = 0
        self._timed: list[float] = []
        self.announced = False

    def step(self, seconds: float) -> None:
        self._steps += 1
        if self._steps > _WARMUP_STEPS:
            self._timed.append(seconds)
        if not self.announced and len(self._timed) >= _TIMED_STEPS:
            self.announce()

    def announce(self) -> None:
        self.announced = True
        if not self.enabled or not self._timed:
            return
        per_step = sorted(self._timed)[len(self._timed) // 2]
        remaining = per_step * (self.total_steps - self._steps) * (1.0 + self.validation_share)
        logger.info("estimated time of this run: ~%s (%d optimisation steps of ~%s%s)",
                    duration(time.perf_counter() - self.started + remaining), self.total_steps,
                    duration(per_step, precise=True),
                    ", validation included" if self.validation_share else "")


def duration(seconds: float, precise: bool = False) -> str:
    if precise and seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
