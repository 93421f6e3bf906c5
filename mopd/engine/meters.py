"""Running averages for losses and metrics, as Dassl's `AverageMeter` and `MetricMeter`."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import torch


class AverageMeter:
    """Keeps the latest value and the (optionally exponential) running average."""

    def __init__(self, ema: bool = False) -> None:
        self.ema = ema
        self.reset()

    def reset(self) -> None:
        """Forget all values."""
        self.val = 0.0
        self.avg = 0.0
        self.sum = 0.0
        self.count = 0

    def update(self, val: float | torch.Tensor, n: int = 1) -> None:
        """Add `val` observed `n` times."""
        if isinstance(val, torch.Tensor):
            val = val.item()
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.avg * 0.9 + val * 0.1 if self.ema else self.sum / self.count


class MetricMeter:
    """One `AverageMeter` per key of the dicts passed to `update`; str() gives `name val (avg)`."""

    def __init__(self, delimiter: str = " ") -> None:
        self.meters: defaultdict[str, AverageMeter] = defaultdict(AverageMeter)
        self.delimiter = delimiter

    def update(self, input_dict: Mapping[str, float | torch.Tensor] | None) -> None:
        """Add one value per metric name; None is ignored."""
        if input_dict is None:
            return
        if not isinstance(input_dict, Mapping):
            raise TypeError(
                f"MetricMeter.update() takes a dict of metric values, got {type(input_dict).__name__}; "
                "return e.g. {'loss': loss.item()} from forward_backward()"
            )
        for name, value in input_dict.items():
            self.meters[name].update(value)

    def __str__(self) -> str:
        return self.delimiter.join(
            f"{name} {meter.val:.4f} ({meter.avg:.4f})" for name, meter in self.meters.items()
        )
