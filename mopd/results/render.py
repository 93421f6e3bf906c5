"""Rendering a report as Markdown tables, tidy CSV, JSON with every per-seed number, or LaTeX.

With published numbers, Markdown adds the reproduction table, JSON a `reproduction` list, CSV one
`<metric>_published` row per compared cell and LaTeX the published rows beside ours.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Callable, Sequence
from typing import Literal

from mopd.results import reproduction
from mopd.results.aggregate import AVERAGE, Entry
from mopd.results.completeness import Problem
from mopd.results.latex import base2new_latex, protocol_latex
from mopd.results.names import BENCHMARK_DATASETS, DG_VARIANTS, TRANSFER_TARGETS, dataset_sort_key, display_name
from mopd.results.published import Comparison, PublishedRow, compare
from mopd.results.report import Report

Format = Literal["markdown", "csv", "json", "latex"]
FORMATS: tuple[str, ...] = ("markdown", "csv", "json", "latex")

STD_NOTE = "Accuracy in %, mean ± sample std (ddof=1) over seeds (one seed: the mean alone; '-': no result)."
_CAPTIONS = {
    "base2new": "HM = 2·Base·New/(Base+New) from the mean Base and mean New. The average row averages Base and "
    f"New over the {len(BENCHMARK_DATASETS)} datasets and takes the HM of those averages.",
    "cross_dataset": "Source: the ImageNet training run. "
    f"Average: mean over the {len(TRANSFER_TARGETS)} target datasets.",
    "domain_generalization": "Source: the cross-dataset ImageNet training run. "
    f"Average: mean over the {len(DG_VARIANTS)} ImageNet variants.",
    "few_shot": f"Columns: shots per class. Average: mean over the {len(BENCHMARK_DATASETS)} datasets.",
}
_TITLES = {
    "base2new": "Base-to-new generalisation",
    "cross_dataset": "Cross-dataset transfer",
    "domain_generalization": "Domain generalisation",
    "few_shot": "Few-shot learning",
}
_AVERAGE_LABELS = {
    "base2new": f"Average over {len(BENCHMARK_DATASETS)} datasets",
    "cross_dataset": f"Average ({len(TRANSFER_TARGETS)} targets)",
    "domain_generalization": f"Average ({len(DG_VARIANTS)} variants)",
    "few_shot": f"Average over {len(BENCHMARK_DATASETS)} datasets",
}


def render(report: Report, fmt: Format = "markdown", published: Sequence[PublishedRow] | None = None) -> str:
    """The report as text in `fmt`; with `published`, our cells beside the published ones."""
    renderers: dict[str, Callable[[Report, Sequence[PublishedRow] | None], str]] = {
        "markdown": render_markdown,
        "csv": render_csv,
        "json": render_json,
        "latex": render_latex,
    }
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    return renderers[fmt](report, published)


def format_cell(entry: Entry | None, names: Callable[[str], str] = display_name) -> str:
    """'82.00 ± 2.00', '82.00' for one seed, 'incomplete: missing ...' for a partial average, '-' for none.

    The HM of a partial average says only 'incomplete': its Base and New cells name the missing datasets.
    """
    if entry is None:
        return "-"
    if entry.missing and entry.metric == "hm":
        return "incomplete"
    if entry.missing:
        return "incomplete: missing " + ", ".join(names(d) for d in entry.missing)
    if entry.value is None:
        return "-"
    return f"{entry.value:.2f}" if entry.std is None else f"{entry.value:.2f} ± {entry.std:.2f}"


def render_markdown(report: Report, published: Sequence[PublishedRow] | None = None) -> str:
    """Markdown tables, one per protocol present, the reproduction table (with `published`), then missing runs."""
    lines = [f"# Results in {report.output_dir}", ""]
    for protocol, table in (
        ("base2new", _base2new_table),
        ("cross_dataset", _transfer_table),
        ("domain_generalization", _transfer_table),
        ("few_shot", _few_shot_table),
    ):
        entries = [e for e in report.entries if e.protocol == protocol]
        if entries:
            header, rows = table(entries)
            caption = f"{STD_NOTE} {_CAPTIONS[protocol]}"
            lines += [f"## {_TITLES[protocol]}", "", caption, ""] + _markdown_table(header, rows) + [""]
    if published is not None:
        lines += _reproduction_markdown(compare(report.entries, published))
    lines += ["## Missing / incomplete runs", ""]
    if report.problems:
        header = ["Protocol", "Phase", "Dataset", "Method", "Config", "Shots", "Seed", "Problem", "Path"]
        rows = [
            [p.protocol, p.phase, p.dataset, p.method, p.cfg, _text(p.shots), _text(p.seed), p.reason, p.path]
            for p in report.problems
        ]
        lines += _markdown_table(header, rows)
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def _reproduction_markdown(comparisons: Sequence[Comparison]) -> list[str]:
    lines = [f"## {reproduction.TITLE}", "", reproduction.CAPTION, ""]
    if not comparisons:
        return lines + ["No run has a published counterpart: the published numbers are 16-shot base-to-new "
                        "results on the 11 datasets.", ""]
    header, rows = reproduction.reproduction_table(comparisons)
    return lines + _markdown_table(header, rows) + ["", reproduction.summary(comparisons), ""]


def _text(value: int | None) -> str:
    return "" if value is None else str(value)


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return [line(header), "|" + "---|" * len(header)] + [line(row) for row in rows]


def _row_label(protocol: str, dataset: str) -> str:
    return _AVERAGE_LABELS[protocol] if dataset == AVERAGE else display_name(dataset)


def _seeds(entries: Sequence[Entry | None]) -> str:
    return ", ".join(str(s) for s in sorted({s for e in entries if e is not None for s in e.per_seed}))


def _grouped(entries: Sequence[Entry], key: Callable[[Entry], tuple]) -> dict[tuple, dict[tuple, Entry]]:
    """Entries grouped by `key` (in first-seen order), each group indexed by (dataset, metric, shots)."""
    groups: dict[tuple, dict[tuple, Entry]] = {}
    for entry in entries:
        groups.setdefault(key(entry), {})[(entry.dataset, entry.metric, entry.shots)] = entry
    return groups


def _base2new_table(entries: Sequence[Entry]) -> tuple[list[str], list[list[str]]]:
    header = ["Dataset", "Method", "Config", "Shots", "Base", "New", "HM", "Seeds"]
    rows = []
    groups = _grouped(entries, lambda e: (e.dataset, e.method, e.cfg, e.shots))
    for (dataset, method, cfg, shots), cells in groups.items():
        base, new, hm = (cells.get((dataset, metric, shots)) for metric in ("base", "new", "hm"))
        seeds = _seeds([base, new])
        if base is not None and new is not None and set(base.per_seed) != set(new.per_seed):
            seeds = f"base {_seeds([base]) or 'none'}; new {_seeds([new]) or 'none'}"
        label = _row_label("base2new", dataset)
        rows.append([label, method, cfg, str(shots), format_cell(base), format_cell(new), format_cell(hm), seeds])
    return header, rows


def _transfer_table(entries: Sequence[Entry]) -> tuple[list[str], list[list[str]]]:
    protocol = entries[0].protocol
    sources = sorted({e.dataset for e in entries if e.metric == "source"}, key=dataset_sort_key)
    targets = sorted(
        {e.dataset for e in entries if e.metric == "accuracy" and e.dataset != AVERAGE}, key=dataset_sort_key
    )
    header = ["Method", "Config", "Shots"] + [f"Source: {display_name(d)}" for d in sources]
    header += [display_name(d) for d in targets] + [_AVERAGE_LABELS[protocol], "Seeds"]
    rows = []
    for (method, cfg, shots), cells in _grouped(entries, lambda e: (e.method, e.cfg, e.shots)).items():
        row = [method, cfg, str(shots)] + [format_cell(cells.get((d, "source", shots))) for d in sources]
        row += [format_cell(cells.get((d, "accuracy", shots))) for d in targets + [AVERAGE]]
        rows.append(row + [_seeds(list(cells.values()))])
    return header, rows


def _few_shot_table(entries: Sequence[Entry]) -> tuple[list[str], list[list[str]]]:
    shots_list = sorted({e.shots for e in entries})
    header = ["Dataset", "Method", "Config"] + [f"{k} shot{'s' if k != 1 else ''}" for k in shots_list] + ["Seeds"]
    rows = []
    for (dataset, method, cfg), cells in _grouped(entries, lambda e: (e.dataset, e.method, e.cfg)).items():
        row = [_row_label("few_shot", dataset), method, cfg]
        row += [format_cell(cells.get((dataset, "accuracy", k))) for k in shots_list]
        rows.append(row + [_seeds(list(cells.values()))])
    return header, rows


CSV_COLUMNS: tuple[str, ...] = (
    "protocol", "dataset", "method", "cfg", "shots", "metric", "value", "std", "n_seeds", "seeds", "note", "path"
)


def render_csv(report: Report, published: Sequence[PublishedRow] | None = None) -> str:
    """Tidy CSV: one row per reported number, then one row per incomplete run (metric 'incomplete_run').

    With `published`, one row per compared cell follows (metric '<metric>_published', value the
    published number, note ours, the difference, the tolerance and whether it is off target).
    """
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for e in report.entries:
        writer.writerow(
            {
                "protocol": e.protocol,
                "dataset": e.dataset,
                "method": e.method,
                "cfg": e.cfg,
                "shots": e.shots,
                "metric": e.metric,
                "value": "" if e.value is None else f"{e.value:.4f}",
                "std": "" if e.std is None else f"{e.std:.4f}",
                "n_seeds": len(e.per_seed),
                "seeds": ";".join(str(s) for s in e.per_seed),
                "note": "incomplete: missing " + " ".join(e.missing) if e.missing else "",
                "path": "",
            }
        )
    for p in report.problems:
        writer.writerow(_problem_row(p))
    for c in compare(report.entries, published or ()):
        verdict = "off target" if c.flagged else "within tolerance"
        writer.writerow({
            "protocol": "base2new", "dataset": c.dataset, "method": c.method, "cfg": c.cfg, "shots": c.shots,
            "metric": f"{c.metric}_published", "value": f"{c.published:.4f}", "std": "", "n_seeds": "",
            "seeds": "", "path": "",
            "note": f"ours {c.ours:.4f}; difference {c.difference:+.4f}; tolerance {c.tolerance:.4f}; {verdict}",
        })
    return out.getvalue()


def _problem_row(p: Problem) -> dict[str, object]:
    return {
        "protocol": p.protocol,
        "dataset": p.dataset,
        "method": p.method,
        "cfg": p.cfg,
        "shots": _text(p.shots),
        "metric": "incomplete_run",
        "value": "",
        "std": "",
        "n_seeds": "",
        "seeds": _text(p.seed),
        "note": f"{p.phase}: {p.reason}" if p.phase else p.reason,
        "path": p.path,
    }


def render_json(report: Report, published: Sequence[PublishedRow] | None = None) -> str:
    """JSON with every run (per-seed accuracies and counts), every table entry and the incomplete runs.

    With `published`, `reproduction` lists every compared cell with its difference and flag.
    """
    document = {
        "output_dir": report.output_dir,
        "std": "sample standard deviation (ddof=1) over seeds; null below two seeds and for derived numbers",
        "runs": [dataclasses.asdict(run) for run in report.runs],
        "entries": [
            {**dataclasses.asdict(e), "per_seed": {str(s): v for s, v in e.per_seed.items()}}
            for e in report.entries
        ],
        "incomplete": [dataclasses.asdict(p) for p in report.problems],
    }
    if published is not None:
        document["reproduction"] = reproduction.comparison_records(compare(report.entries, published))
    return json.dumps(document, indent=2) + "\n"


def render_latex(report: Report, published: Sequence[PublishedRow] | None = None) -> str:
    """LaTeX tables in the papers' layout, one per protocol present (needs booktabs; graphicx for wide ones)."""
    lines = [
        f"% Results in {report.output_dir}: accuracy in %, mean over seeds; best per column in bold.",
        "% Needs \\usepackage{booktabs} (and graphicx for \\resizebox).",
    ]
    shown = [row for row in published or () if any(
        e.protocol == row.protocol and e.dataset == row.dataset for e in report.entries
    )]
    for method, source in sorted({(row.method, row.source) for row in shown}):
        lines.append(f"% {method} (paper): {source}")
    for protocol in ("base2new", "cross_dataset", "domain_generalization", "few_shot"):
        entries = [e for e in report.entries if e.protocol == protocol]
        if entries:
            body = base2new_latex(entries, shown) if protocol == "base2new" else protocol_latex(protocol, entries)
            lines += [""] + body
    return "\n".join(lines) + "\n"
