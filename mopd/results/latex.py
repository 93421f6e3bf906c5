"""LaTeX tables in the papers' layout (booktabs, best per column in bold), ready to paste.

Base-to-new is the CoCoOp/KgCoOp Table 1 layout: one small Base / New / H table per dataset, the
11-dataset average first, methods as rows. With published numbers, each method's published row
(marked "paper") sits above ours. Cross-dataset, domain generalisation and few-shot are one table
each, methods as rows. Numbers are means over seeds; a missing or incomplete number is "--".
"""
from __future__ import annotations

from collections.abc import Sequence

from mopd.results.aggregate import AVERAGE, Entry
from mopd.results.names import (
    BENCHMARK_DATASETS,
    dataset_sort_key,
    display_name,
    method_sort_key,
)
from mopd.results.published import PublishedRow

_METHOD_NAMES = {"ZeroshotCLIP": "CLIP", "LinearProbeCLIP": "Linear probe CLIP"}
_BLOCKS_PER_LINE = 4
_TITLES = {
    "cross_dataset": "Cross-dataset transfer",
    "domain_generalization": "Domain generalisation",
    "few_shot": "Few-shot learning",
}

Row = tuple[str, list[float | None]]  # (label, one value per numeric column)


def escape(text: str) -> str:
    """`text` with LaTeX's special characters escaped."""
    for char, escaped in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"), ("#", r"\#"),
                          ("_", r"\_"), ("{", r"\{"), ("}", r"\}"), ("~", r"\textasciitilde{}"),
                          ("^", r"\textasciicircum{}")):
        text = text.replace(char, escaped)
    return text


def bold_best(rows: Sequence[Row]) -> list[list[str]]:
    """Each row's values as 2-decimal cells, the highest printed value of each column in bold ("--" for none)."""
    columns = max((len(values) for _, values in rows), default=0)
    best = []
    for column in range(columns):
        printed = [f"{values[column]:.2f}" for _, values in rows if values[column] is not None]
        best.append(max(printed, key=float) if printed else None)
    cells = []
    for _, values in rows:
        row = []
        for column, value in enumerate(values):
            text = "--" if value is None else f"{value:.2f}"
            row.append(rf"\textbf{{{text}}}" if value is not None and text == best[column] else text)
        cells.append(row)
    return cells


def tabular(header: Sequence[str], rows: Sequence[Row], title: str = "") -> list[str]:
    """A booktabs tabular: an optional title row, the header, then the rows with the best per column in bold."""
    lines = [r"\begin{tabular}{l" + "c" * (len(header) - 1) + "}", r"\toprule"]
    if title:
        lines += [rf"\multicolumn{{{len(header)}}}{{c}}{{{title}}} \\", r"\midrule"]
    lines += [" & ".join(header) + r" \\", r"\midrule"]
    for (label, _), cells in zip(rows, bold_best(rows)):
        lines.append(" & ".join([escape(label)] + cells) + r" \\")
    return lines + [r"\bottomrule", r"\end{tabular}"]


def method_label(method: str) -> str:
    """The name papers print for a trainer (zero-shot CLIP is "CLIP", linear-probe CLIP "Linear probe CLIP")."""
    return _METHOD_NAMES.get(method, method)


def _series(entries: Sequence[Entry]) -> list[tuple[str, str, int]]:
    keys = {(e.method, e.cfg, e.shots) for e in entries}
    return sorted(keys, key=lambda k: (method_sort_key(k[0]), k[1], k[2]))


def _series_labels(series: Sequence[tuple[str, str, int]], published_methods: set[str]) -> dict:
    """Row labels: the method, "(ours)" beside a published row, config and shots when a method has several."""
    labels = {}
    for method, cfg, shots in series:
        siblings = [s for s in series if s[0] == method]
        details = (["ours"] if method in published_methods else []) + (
            [f"{cfg}, {shots} shots"] if len(siblings) > 1 else []
        )
        labels[(method, cfg, shots)] = method_label(method) + (f" ({'; '.join(details)})" if details else "")
    return labels


def _base2new_block(dataset: str, entries: Sequence[Entry], published: Sequence[PublishedRow]) -> list[str]:
    mine = [e for e in entries if e.dataset == dataset]
    theirs = {row.method: row for row in published if row.protocol == "base2new" and row.dataset == dataset}
    series = _series(mine)
    labels = _series_labels(series, set(theirs))
    values = {(e.method, e.cfg, e.shots, e.metric): e.value for e in mine}
    rows: list[Row] = []
    for method in sorted({s[0] for s in series} | set(theirs), key=method_sort_key):
        if method in theirs:
            row = theirs[method]
            rows.append((f"{method_label(method)} (paper)", [row.base, row.new, row.hm]))
        for key in (s for s in series if s[0] == method):
            rows.append((labels[key], [values.get((*key, m)) for m in ("base", "new", "hm")]))
    title = f"Average over {len(BENCHMARK_DATASETS)} datasets" if dataset == AVERAGE else display_name(dataset)
    return tabular(["", "Base", "New", "H"], rows, title)


def base2new_latex(entries: Sequence[Entry], published: Sequence[PublishedRow] = ()) -> list[str]:
    """The base-to-new table: one block per dataset (average first), `_BLOCKS_PER_LINE` blocks a line."""
    datasets = sorted({e.dataset for e in entries if e.dataset != AVERAGE}, key=dataset_sort_key)
    if any(e.dataset == AVERAGE for e in entries):
        datasets.insert(0, AVERAGE)
    lines = [r"\begin{table*}[t]", r"\centering", r"\small"]
    for index, dataset in enumerate(datasets):
        lines += _base2new_block(dataset, entries, published)
        last_on_line = (index + 1) % _BLOCKS_PER_LINE == 0 or index + 1 == len(datasets)
        lines.append(r"\\[1ex]" if last_on_line else r"\hfill")
    caption = "Base-to-new generalisation: accuracy (\\%) on the base and new classes and their harmonic mean H"
    if published:
        caption += "; rows marked ``paper'' are published numbers"
    return lines + [rf"\caption{{{caption}.}}", r"\end{table*}"]


def _few_shot_latex(entries: Sequence[Entry]) -> list[str]:
    """One block per dataset (average first): methods as rows, shot counts as columns."""
    shots = sorted({e.shots for e in entries})
    keys = sorted({(e.method, e.cfg) for e in entries}, key=lambda k: (method_sort_key(k[0]), k[1]))
    labels = {
        (method, cfg): method_label(method) + (f" ({cfg})" if sum(m == method for m, _ in keys) > 1 else "")
        for method, cfg in keys
    }
    value = {(e.method, e.cfg, e.shots, e.dataset): e.value for e in entries}
    lines = [r"\begin{table}[t]", r"\centering", r"\small"]
    for dataset in sorted({e.dataset for e in entries}, key=lambda d: (d != AVERAGE, dataset_sort_key(d))):
        present = [key for key in keys if any((*key, k, dataset) in value for k in shots)]
        rows = [(labels[key], [value.get((*key, k, dataset)) for k in shots]) for key in present]
        title = f"Average over {len(BENCHMARK_DATASETS)} datasets" if dataset == AVERAGE else display_name(dataset)
        lines += tabular(["Shots"] + [str(k) for k in shots], rows, title) + [r"\\[1ex]"]
    return lines + [rf"\caption{{{_TITLES['few_shot']}: accuracy (\%).}}", r"\end{table}"]


def _transfer_latex(protocol: str, entries: Sequence[Entry]) -> list[str]:
    """Methods as rows; the ImageNet source, each target and the average as columns."""
    series = _series(entries)
    labels = _series_labels(series, set())
    value = {(e.method, e.cfg, e.shots, e.dataset, e.metric): e.value for e in entries}
    sources = sorted({e.dataset for e in entries if e.metric == "source"}, key=dataset_sort_key)
    targets = sorted({e.dataset for e in entries if e.metric == "accuracy" and e.dataset != AVERAGE},
                     key=dataset_sort_key)
    header = [""] + [f"{display_name(d)} (source)" for d in sources] + [display_name(d) for d in targets] + ["Average"]
    rows = [
        (labels[key], [value.get((*key, d, "source")) for d in sources]
         + [value.get((*key, d, "accuracy")) for d in targets + [AVERAGE]])
        for key in series
    ]
    table = tabular([escape(h) for h in header], rows)
    return [r"\begin{table*}[t]", r"\centering", r"\small", r"\resizebox{\linewidth}{!}{%"] + table + [
        "}", rf"\caption{{{_TITLES[protocol]}: accuracy (\%).}}", r"\end{table*}"
    ]


def protocol_latex(protocol: str, entries: Sequence[Entry]) -> list[str]:
    """The table of a protocol other than base-to-new: cross-dataset, domain generalisation or few-shot."""
    return _few_shot_latex(entries) if protocol == "few_shot" else _transfer_latex(protocol, entries)
