"""Plots: grouped bars of Base/New/HM per dataset and method, and few-shot accuracy against shots."""
from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mopd.files.atomic import atomic_path
from mopd.results.aggregate import AVERAGE, Entry
from mopd.results.names import BENCHMARK_DATASETS, display_name, method_sort_key

logger = logging.getLogger(__name__)

_SeriesKey = tuple[str, str, int]  # (method, cfg, shots)
# The few-shot protocol's reference line (CoOp's and its successors' figures): dashed, in black.
_REFERENCE_STYLE = {"LinearProbeCLIP": {"linestyle": "--", "color": "black", "marker": "s"}}


def few_shot_plot_path(path: str) -> str:
    """The few-shot plot written beside the base-to-new plot: FILE.png -> FILE_few_shot.png."""
    stem, ext = os.path.splitext(path)
    return f"{stem}_few_shot{ext or '.png'}"


def write_plots(entries: Sequence[Entry], path: str) -> list[str]:
    """Write the base-to-new bars to `path` and the few-shot lines beside it; return the files written."""
    written = []
    base2new = [e for e in entries if e.protocol == "base2new"]
    few_shot = [e for e in entries if e.protocol == "few_shot"]
    if base2new:
        plot_base2new(base2new, path)
        written.append(path)
    else:
        logger.warning("No base-to-new results: %s not written", path)
    if few_shot:
        plot_few_shot(few_shot, few_shot_plot_path(path))
        written.append(few_shot_plot_path(path))
    return written


def _series_labels(keys: Sequence[_SeriesKey]) -> dict[_SeriesKey, str]:
    """Method names, with the config and shots added only where they tell series apart."""
    several_cfgs = len({cfg for _, cfg, _ in keys}) > 1
    several_shots = len({shots for _, _, shots in keys}) > 1
    return {
        (m, c, k): m + (f" ({c})" if several_cfgs else "") + (f", {k} shots" if several_shots else "")
        for m, c, k in keys
    }


def plot_base2new(entries: Sequence[Entry], path: str) -> None:
    """Three panels (Base, New, HM): bars per dataset, one per method, with the sample std as error bars."""
    values = {(e.dataset, e.method, e.cfg, e.shots, e.metric): e for e in entries if e.value is not None}
    series = sorted({(e.method, e.cfg, e.shots) for e in entries}, key=lambda k: (method_sort_key(k[0]), k[1], k[2]))
    datasets = list(dict.fromkeys(e.dataset for e in entries if e.value is not None))
    labels = _series_labels(series)
    figure, canvas = _figure(width=max(6.0, 0.9 * len(datasets) + 2.0), height=9.0)
    width = 0.8 / len(series)
    for row, metric in enumerate(("base", "new", "hm")):
        axes = figure.add_subplot(3, 1, row + 1)
        for i, key in enumerate(series):
            cells = [(j, values.get((d, *key, metric))) for j, d in enumerate(datasets)]
            present = [(j, c) for j, c in cells if c is not None]
            axes.bar(
                [j - 0.4 + width * (i + 0.5) for j, _ in present],
                [c.value for _, c in present],
                width,
                yerr=[c.std or 0.0 for _, c in present],
                capsize=2,
                label=labels[key],
            )
        axes.set_ylabel(f"{'HM' if metric == 'hm' else metric.capitalize()} accuracy (%)")
        axes.set_xticks(range(len(datasets)))
        axes.set_xticklabels([_label(d) for d in datasets], rotation=30, ha="right")
    figure.axes[0].legend(fontsize="small")
    figure.tight_layout()
    _save(canvas, path)


def plot_few_shot(entries: Sequence[Entry], path: str) -> Figure:
    """One panel per dataset (and the average): accuracy against shots, one line per method; the figure written.

    Linear-probe CLIP, the line the few-shot methods are compared to, is drawn dashed, in black.
    """
    datasets = list(dict.fromkeys(e.dataset for e in entries if e.value is not None))
    series = sorted({(e.method, e.cfg) for e in entries}, key=lambda k: (method_sort_key(k[0]), k[1]))
    shots = sorted({e.shots for e in entries})
    labels = {(m, c): label for (m, c, _), label in _series_labels([(m, c, 0) for m, c in series]).items()}
    columns = min(4, max(1, len(datasets)))
    rows = max(1, math.ceil(len(datasets) / columns))
    figure, canvas = _figure(width=4.0 * columns, height=3.2 * rows)
    for index, dataset in enumerate(datasets):
        axes = figure.add_subplot(rows, columns, index + 1)
        for key in series:
            points = sorted(
                (e for e in entries if (e.method, e.cfg) == key and e.dataset == dataset and e.value is not None),
                key=lambda e: e.shots,
            )
            if points:
                axes.errorbar(
                    [e.shots for e in points],
                    [e.value for e in points],
                    yerr=[e.std or 0.0 for e in points],
                    capsize=2,
                    label=labels[key],
                    **_REFERENCE_STYLE.get(key[0], {"marker": "o"}),
                )
        axes.set_xscale("log", base=2)
        axes.set_xticks(shots, [str(k) for k in shots])
        axes.minorticks_off()
        axes.set_title(_label(dataset))
        axes.set_xlabel("shots per class")
        axes.set_ylabel("accuracy (%)")
    if datasets:
        figure.axes[0].legend(fontsize="small")
    figure.tight_layout()
    _save(canvas, path)
    return figure


def _label(dataset: str) -> str:
    return f"Average ({len(BENCHMARK_DATASETS)})" if dataset == AVERAGE else display_name(dataset)


def _figure(width: float, height: float) -> tuple[Figure, FigureCanvasAgg]:
    """A figure on its own Agg canvas: no pyplot, no global backend state."""
    figure = Figure(figsize=(width, height))
    return figure, FigureCanvasAgg(figure)


def _save(canvas: FigureCanvasAgg, path: str) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        canvas.print_png(f)
    logger.info("Wrote %s", path)
