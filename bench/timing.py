"""Timing helpers: device sync, median of interleaved repetitions, peak memory per contender."""
from __future__ import annotations

import statistics
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable

import torch


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@dataclass
class PeakMemory:
    """Peak memory above the level at start: CUDA allocator peak, or sampled resident memory on CPU."""

    device: torch.device
    peak_bytes: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    @contextmanager
    def measure(self):
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            base = torch.cuda.memory_allocated(self.device)
            yield
            self.peak_bytes = max(self.peak_bytes, torch.cuda.max_memory_allocated(self.device) - base)
            return
        base, peak = _rss_bytes(), [0]
        self._stop.clear()

        def sample() -> None:
            while not self._stop.is_set():
                peak[0] = max(peak[0], _rss_bytes() - base)
                time.sleep(0.002)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join()
            self.peak_bytes = max(self.peak_bytes, peak[0])


def interleaved_medians(runs: dict[str, Callable[[], float]], repetitions: int, warmup: int = 1) -> dict[str, float]:
    """Call every run `warmup` times, then `repetitions` rounds of all runs in turn; median seconds of each."""
    for run in runs.values():
        for _ in range(warmup):
            run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repetitions):
        for name, run in runs.items():
            times[name].append(run())
    return {name: statistics.median(values) for name, values in times.items()}
