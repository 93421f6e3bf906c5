"""The reproduction section of a report: our base-to-new cells beside the published ones, off-target cells flagged."""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from mopd.results.aggregate import AVERAGE
from mopd.results.names import BENCHMARK_DATASETS, display_name
from mopd.results.published import MIN_TOLERANCE, PUBLISHED_SHOTS, STD_TOLERANCE, Comparison

FLAG = "⚠"
TITLE = "Reproduction: base-to-new against the published numbers"
CAPTION = (
    f"Ours: mean ± sample std over seeds of the {PUBLISHED_SHOTS}-shot runs; paper: the published number; "
    f"Δ = ours − paper, in points. {FLAG} marks a cell off by more than max({MIN_TOLERANCE:g} point, "
    f"{STD_TOLERANCE:g} std) (std 0 for one seed and for the {len(BENCHMARK_DATASETS)}-dataset average)."
)


def format_difference(comparison: Comparison) -> str:
    """'+0.31', '-2.59 ⚠' (flagged)."""
    text = f"{comparison.difference:+.2f}"
    return f"{text} {FLAG}" if comparison.flagged else text


def _ours(comparison: Comparison) -> str:
    if comparison.std is None:
        return f"{comparison.ours:.2f}"
    return f"{comparison.ours:.2f} ± {comparison.std:.2f}"


def reproduction_table(comparisons: Sequence[Comparison]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: one row per (dataset, method, config), Base / New / HM each as ours, paper, Δ."""
    header = ["Dataset", "Method", "Config"]
    for metric in ("Base", "New", "HM"):
        header += [metric, f"{metric} (paper)", "Δ"]
    groups: dict[tuple[str, str, str], dict[str, Comparison]] = {}
    for c in comparisons:
        groups.setdefault((c.dataset, c.method, c.cfg), {})[c.metric] = c
    rows = []
    for (dataset, method, cfg), cells in groups.items():
        label = f"Average over {len(BENCHMARK_DATASETS)} datasets" if dataset == AVERAGE else display_name(dataset)
        row = [label, method, cfg]
        for metric in ("base", "new", "hm"):
            c = cells.get(metric)
            row += ["-", "-", "-"] if c is None else [_ours(c), f"{c.published:.2f}", format_difference(c)]
        rows.append(row)
    return header, rows


def summary(comparisons: Sequence[Comparison]) -> str:
    """'2 of 9 cells are off target' and the sources of the published numbers shown."""
    flagged = sum(c.flagged for c in comparisons)
    sources = sorted({(c.method, c.source) for c in comparisons})
    lines = [f"{flagged} of {len(comparisons)} cells are off target ({FLAG})."]
    lines += ["", "Sources:"] + [f"- {method}: {source}" for method, source in sources]
    return "\n".join(lines)


def comparison_records(comparisons: Sequence[Comparison]) -> list[dict[str, object]]:
    """Every comparison as a plain dict with its difference, tolerance and flag (for JSON and CSV)."""
    return [
        {**dataclasses.asdict(c), "difference": c.difference, "tolerance": c.tolerance, "flagged": c.flagged}
        for c in comparisons
    ]
