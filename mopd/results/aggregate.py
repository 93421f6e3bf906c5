"""Means over seeds, harmonic means and averages over datasets, as flat `Entry` records per protocol."""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from mopd.results.layout import Run
from mopd.results.names import (
    BENCHMARK_DATASETS,
    DG_VARIANTS,
    SOURCE_DATASET,
    TRANSFER_TARGETS,
    dataset_sort_key,
    method_sort_key,
)

AVERAGE = "average"  # the `dataset` of an average over a protocol's dataset list

SeriesKey = tuple[str, str, int]  # (method, cfg, shots)


@dataclass(frozen=True)
class Entry:
    """One reported number: a mean over seeds, a harmonic mean, or an average over datasets.

    `metric` is "base", "new" or "hm" (base-to-new), "source" (the ImageNet training run) or
    "accuracy". `value` is None when there is no result, or when an average lacks the datasets in
    `missing`. `std` is the sample standard deviation (ddof=1) over `per_seed`, None below two seeds
    and for derived numbers (HM, averages).
    """

    protocol: str
    dataset: str
    method: str
    cfg: str
    shots: int
    metric: str
    value: float | None
    std: float | None = None
    per_seed: Mapping[int, float] = field(default_factory=dict)
    missing: tuple[str, ...] = ()


def harmonic_mean(base: float, new: float) -> float:
    """HM = 2 * Base * New / (Base + New); 0 when both are 0."""
    return 0.0 if base + new == 0 else 2.0 * base * new / (base + new)


def sample_std(values: Sequence[float]) -> float | None:
    """Sample standard deviation (ddof=1); None for fewer than two values."""
    if len(values) < 2:
        return None
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def seed_entry(protocol: str, dataset: str, key: SeriesKey, metric: str, per_seed: Mapping[int, float]) -> Entry:
    """The mean and sample std over seeds of one (dataset, method, cfg, shots); value None without seeds."""
    method, cfg, shots = key
    values = [per_seed[s] for s in sorted(per_seed)]
    mean = sum(values) / len(values) if values else None
    per_seed_sorted = dict(sorted(per_seed.items()))
    return Entry(protocol, dataset, method, cfg, shots, metric, mean, sample_std(values), per_seed_sorted)


def average_entry(
    protocol: str, key: SeriesKey, metric: str, means: Mapping[str, float | None], required: Iterable[str]
) -> Entry:
    """The mean of the per-dataset means over `required`, or the list of required datasets without one."""
    method, cfg, shots = key
    missing = tuple(d for d in required if means.get(d) is None)
    present = [means[d] for d in required if means.get(d) is not None]
    value = None if missing else sum(present) / len(present)  # type: ignore[arg-type]
    return Entry(protocol, AVERAGE, method, cfg, shots, metric, value, missing=missing)


def aggregate(runs: Iterable[Run]) -> list[Entry]:
    """All table entries of all protocols present in `runs` (runs without a result are skipped)."""
    accuracies: dict[tuple[str, str, str], dict[SeriesKey, dict[int, float]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for run in sorted(runs, key=lambda r: r.phase != "test_base"):  # test_base wins over train_base
        if run.result is not None:
            by_seed = accuracies[(run.protocol, _role(run.phase), run.dataset)][(run.method, run.cfg, run.shots)]
            by_seed.setdefault(run.seed, run.result.accuracy)
    return (
        _base2new_entries(accuracies)
        + _transfer_entries(accuracies, "cross_dataset", TRANSFER_TARGETS)
        + _transfer_entries(accuracies, "domain_generalization", DG_VARIANTS)
        + _few_shot_entries(accuracies)
    )


def _role(phase: str) -> str:
    return "base" if phase in ("train_base", "test_base") else phase


def _series_order(key: SeriesKey) -> tuple:
    return (method_sort_key(key[0]), key[1], key[2])


def _datasets(accuracies: Mapping, protocol: str, role: str) -> list[str]:
    found = {d for (p, r, d) in accuracies if p == protocol and r == role}
    return sorted(found, key=dataset_sort_key)


def _base2new_entries(accuracies: Mapping) -> list[Entry]:
    entries: list[Entry] = []
    means: dict[SeriesKey, dict[str, dict[str, float | None]]] = defaultdict(lambda: defaultdict(dict))
    datasets = sorted(
        set(_datasets(accuracies, "base2new", "base")) | set(_datasets(accuracies, "base2new", "test_new")),
        key=dataset_sort_key,
    )
    for dataset in datasets:
        base_runs = accuracies.get(("base2new", "base", dataset), {})
        new_runs = accuracies.get(("base2new", "test_new", dataset), {})
        for key in sorted(set(base_runs) | set(new_runs), key=_series_order):
            base = seed_entry("base2new", dataset, key, "base", base_runs.get(key, {}))
            new = seed_entry("base2new", dataset, key, "new", new_runs.get(key, {}))
            both = [s for s in base.per_seed if s in new.per_seed]
            hm_per_seed = {s: harmonic_mean(base.per_seed[s], new.per_seed[s]) for s in both}
            hm = None if base.value is None or new.value is None else harmonic_mean(base.value, new.value)
            entries += [base, new, Entry("base2new", dataset, *key, "hm", hm, per_seed=hm_per_seed)]
            means[key]["base"][dataset] = base.value
            means[key]["new"][dataset] = new.value
    for key in sorted(means, key=_series_order):
        if not set(means[key]["base"]) & set(BENCHMARK_DATASETS):
            continue
        base = average_entry("base2new", key, "base", means[key]["base"], BENCHMARK_DATASETS)
        new = average_entry("base2new", key, "new", means[key]["new"], BENCHMARK_DATASETS)
        missing = tuple(d for d in BENCHMARK_DATASETS if d in base.missing or d in new.missing)
        hm = None if missing else harmonic_mean(base.value, new.value)  # type: ignore[arg-type]
        entries += [base, new, Entry("base2new", AVERAGE, *key, "hm", hm, missing=missing)]
    return entries


def _transfer_entries(accuracies: Mapping, protocol: str, targets: Sequence[str]) -> list[Entry]:
    """Source accuracy, each target and the average over `targets` (cross-dataset or domain generalisation)."""
    test_sets = {d: accuracies[(protocol, "test", d)] for d in _datasets(accuracies, protocol, "test")}
    sources = {d: accuracies[(protocol, "train", d)] for d in _datasets(accuracies, protocol, "train")}
    keys = {k for runs in list(test_sets.values()) + list(sources.values()) for k in runs}
    if protocol != "cross_dataset":  # domain generalisation reuses the cross-dataset ImageNet model
        xd_source = accuracies.get(("cross_dataset", "train", SOURCE_DATASET), {})
        sources.setdefault(SOURCE_DATASET, {k: v for k, v in xd_source.items() if k in keys})
    entries: list[Entry] = []
    for key in sorted(keys, key=_series_order):
        for dataset, runs in sources.items():
            if key in runs:
                entries.append(seed_entry(protocol, dataset, key, "source", runs[key]))
        means: dict[str, float | None] = {}
        for dataset, runs in test_sets.items():
            if key in runs:
                entry = seed_entry(protocol, dataset, key, "accuracy", runs[key])
                entries.append(entry)
                means[dataset] = entry.value
        entries.append(average_entry(protocol, key, "accuracy", means, targets))
    return entries


def _few_shot_entries(accuracies: Mapping) -> list[Entry]:
    entries: list[Entry] = []
    means: dict[SeriesKey, dict[str, float | None]] = defaultdict(dict)
    for dataset in _datasets(accuracies, "few_shot", ""):
        runs = accuracies[("few_shot", "", dataset)]
        for key in sorted(runs, key=_series_order):
            entry = seed_entry("few_shot", dataset, key, "accuracy", runs[key])
            entries.append(entry)
            means[key][dataset] = entry.value
    with_benchmark = {(m, c) for (m, c, _), by_dataset in means.items() if set(by_dataset) & set(BENCHMARK_DATASETS)}
    for key in sorted(means, key=_series_order):
        if key[:2] in with_benchmark:
            entries.append(average_entry("few_shot", key, "accuracy", means[key], BENCHMARK_DATASETS))
    return entries
