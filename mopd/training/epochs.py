"""Per-epoch seeds, so that a resumed run repeats an epoch exactly, and per-epoch means of logged values."""
from __future__ import annotations

_EPOCH_SEED_STRIDE = 100_003  # a prime, so (seed, epoch) pairs of nearby seeds do not collide


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of epoch `epoch` (0-based) of a run seeded with `seed`."""
    return seed + _EPOCH_SEED_STRIDE * (epoch + 1)


class RunningMeans:
    """Sample-weighted means of named values over an epoch."""

    def __init__(self) -> None:
        self._sums: dict[str, float] = {}
        self._count = 0

    def add(self, values: dict[str, float], n: int) -> None:
        """Add the values of one batch of `n` samples."""
        for name, value in values.items():
            self._sums[name] = self._sums.get(name, 0.0) + value * n
        self._count += n

    def means(self) -> dict[str, float]:
        """The mean of each value so far (empty before the first batch)."""
        return {name: total / self._count for name, total in self._sums.items()} if self._count else {}
