"""Teacher-prompt selection statistics of a MoPD run: counts, `gate_stats.json` and a PNG chart."""
from __future__ import annotations

import logging
import os
from typing import Sequence

import torch
from torch import Tensor

from mopd.files.atomic import atomic_path
from mopd.files.io import write_json_atomic

logger = logging.getLogger(__name__)

MAX_CLASSES_IN_CHART = 50


class SelectionTally:
    """Counts how often the gate selects each teacher prompt, overall and per class."""

    def __init__(self, num_classes: int, num_prompts: int) -> None:
        self.per_class = torch.zeros(num_classes, num_prompts, dtype=torch.long)

    def add(self, labels: Tensor, gate_indices: Tensor) -> None:
        """Count one batch: labels (B,), selected prompt indices (B, k)."""
        num_classes, num_prompts = self.per_class.shape
        rows = labels.cpu()[:, None].expand_as(gate_indices) * num_prompts + gate_indices.cpu()
        self.per_class += torch.bincount(rows.flatten(), minlength=num_classes * num_prompts).view_as(self.per_class)

    def frequencies(self) -> Tensor:
        """Share of all selections that went to each prompt, (P,)."""
        totals = self.per_class.sum(dim=0).double()
        return totals / totals.sum().clamp(min=1)


def write_gate_stats(output_dir: str, templates: Sequence[str], classnames: Sequence[str], tally: SelectionTally) -> None:
    """Write `gate_stats.json` and `gate_selection.png` (per class too, up to 50 classes) to `output_dir`."""
    stats = {
        "templates": list(templates),
        "classnames": list(classnames),
        "selection_frequency": tally.frequencies().tolist(),
        "selection_counts_per_class": tally.per_class.tolist(),
    }
    write_json_atomic(os.path.join(output_dir, "gate_stats.json"), stats)
    _plot(os.path.join(output_dir, "gate_selection.png"), templates, classnames, tally)
    logger.info("Wrote gate statistics to %s", output_dir)


def _plot(path: str, templates: Sequence[str], classnames: Sequence[str], tally: SelectionTally) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    show_classes = len(classnames) <= MAX_CLASSES_IN_CHART
    fig, axes = plt.subplots(1, 2 if show_classes else 1, figsize=(16 if show_classes else 8, 6), squeeze=False)
    axes[0, 0].barh(range(len(templates)), tally.frequencies().numpy())
    axes[0, 0].set_yticks(range(len(templates)), labels=list(templates), fontsize=7)
    axes[0, 0].invert_yaxis()
    axes[0, 0].set_xlabel("selection frequency")
    axes[0, 0].set_title("Teacher prompts selected by the gate")
    if show_classes:
        counts = tally.per_class.double()
        share = counts / counts.sum(dim=1, keepdim=True).clamp(min=1)
        image = axes[0, 1].imshow(share.numpy(), aspect="auto", cmap="viridis")
        axes[0, 1].set_yticks(range(len(classnames)), labels=list(classnames), fontsize=6)
        axes[0, 1].set_xlabel("teacher prompt index")
        axes[0, 1].set_title("Selection share per class")
        fig.colorbar(image, ax=axes[0, 1])
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
