"""Timing, peak-memory and token-count probes for the benchmark, on the CPU or a CUDA device."""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import torch
from torch import nn

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
MB = 1024 * 1024


def synchronize(device: torch.device) -> None:
    """Wait for queued device work, so that a wall-clock reading covers it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class Elapsed:
    """Seconds a block took: wall clock (device work included) and this process's CPU time."""

    wall_s: float = 0.0
    cpu_s: float = 0.0


@contextmanager
def stopwatch(device: torch.device) -> Iterator[Elapsed]:
    """Yield an `Elapsed` that is filled in when the block ends.

    With one intra-op thread on the CPU, CPU time is the work done, whatever else runs on the
    machine; wall time also counts the time other processes held the core.
    """
    elapsed = Elapsed()
    synchronize(device)
    wall, cpu = time.perf_counter(), time.process_time()
    yield elapsed
    synchronize(device)
    elapsed.wall_s, elapsed.cpu_s = time.perf_counter() - wall, time.process_time() - cpu


def current_rss_bytes() -> int:
    """Resident set size of this process now."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE_SIZE


class PeakMemory:
    """Peak memory over a block: resident memory sampled by a thread (CPU) or max_memory_allocated (CUDA).

    On the CPU the figure is the whole process's RSS (weights, runtime and activations), sampled
    every `interval_s`; on CUDA it is the allocator's peak of tensors on the device, reset at entry.
    """

    def __init__(self, device: torch.device, interval_s: float = 0.002) -> None:
        self.device = device
        self.interval_s = interval_s
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def peak_mb(self) -> float:
        """The peak in MiB."""
        return self.peak_bytes / MB

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            return self
        self.peak_bytes = current_rss_bytes()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak_bytes = torch.cuda.max_memory_allocated(self.device)
            return
        self._stop.set()
        assert self._thread is not None
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, current_rss_bytes())

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak_bytes = max(self.peak_bytes, current_rss_bytes())


@dataclass
class TokenTally:
    """Tokens that entered the first text-transformer layer: length x prompts, summed over calls."""

    processed: int = 0
    calls: int = 0


@contextmanager
def count_text_tokens(text_transformer: nn.Module) -> Iterator[TokenTally]:
    """Count the tokens every text-encoder call really computes, whichever path makes the call.

    Both the truncating encoder and CLIP's own transformer call the first block's `ln_1` on the
    (length, prompts, width) activations, so a hook there sees the true work of either path.
    """
    tally = TokenTally()

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        length, prompts = inputs[0].shape[:2]
        tally.processed += length * prompts
        tally.calls += 1

    handle = text_transformer.resblocks[0].ln_1.register_forward_pre_hook(hook)
    try:
        yield tally
    finally:
        handle.remove()
