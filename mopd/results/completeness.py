"""Naming the runs a table is missing: runs without a result, missing seeds, unpaired base-to-new runs."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from mopd.results.layout import LAYOUT_HELP, PROTOCOLS, Run, RunTree, run_path
from mopd.results.names import SOURCE_DATASET, dataset_sort_key, method_sort_key

_TRANSFER_PROTOCOLS = ("cross_dataset", "domain_generalization")


@dataclass(frozen=True)
class Problem:
    """A run that is missing or has no result, with the directory where it is (or belongs)."""

    protocol: str
    phase: str
    dataset: str
    method: str
    cfg: str
    shots: int | None
    seed: int | None
    path: str
    reason: str


def find_problems(output_dir: str, tree: RunTree) -> list[Problem]:
    """Every incomplete run of `tree`, sorted by protocol, dataset, method, config, shots and seed."""
    problems = [_run_problem(run) for run in tree.runs if run.result is None]
    problems += _missing_base2new(output_dir, [r for r in tree.runs if r.protocol == "base2new"])
    problems += _missing_seeds(output_dir, [r for r in tree.runs if r.protocol != "base2new"])
    problems += [
        Problem("", "", "", "", "", None, None, path, f"unrecognised directory: outside the layout {LAYOUT_HELP}")
        for path in tree.unrecognised
    ]
    unique = {p.path: p for p in reversed(problems)}  # one entry per directory, the first reason found
    return sorted(unique.values(), key=_problem_order)


def expected_seeds(seeds: Iterable[int]) -> list[int]:
    """The seeds a group should have: every seed from its smallest to its largest (1 and 3 imply 2)."""
    found = set(seeds)
    return list(range(min(found), max(found) + 1)) if found else []


def _run_problem(run: Run) -> Problem:
    return Problem(
        run.protocol, run.phase, run.dataset, run.method, run.cfg, run.shots, run.seed, run.path, run.problem
    )


def _problem_order(problem: Problem) -> tuple:
    protocol = PROTOCOLS.index(problem.protocol) if problem.protocol in PROTOCOLS else len(PROTOCOLS)
    return (
        protocol,
        dataset_sort_key(problem.dataset),
        method_sort_key(problem.method),
        problem.cfg,
        problem.shots or 0,
        problem.seed or 0,
        problem.phase,
        problem.path,
    )


def _seeds_text(seeds: Iterable[int]) -> str:
    return ", ".join(str(s) for s in sorted(seeds)) or "none"


def _missing_base2new(output_dir: str, runs: list[Run]) -> list[Problem]:
    """Each expected seed of a (dataset, method, cfg) needs a base run and a new run."""
    group_seeds: dict[tuple, set[int]] = defaultdict(set)
    pairs: dict[tuple, dict[str, dict[int, Run]]] = defaultdict(lambda: defaultdict(dict))
    for run in runs:
        group_seeds[(run.dataset, run.method, run.cfg)].add(run.seed)
        role = "new" if run.phase == "test_new" else "base"
        pairs[(run.dataset, run.shots, run.method, run.cfg)][role][run.seed] = run
    problems = []
    for (dataset, shots, method, cfg), by_role in pairs.items():
        base, new = by_role["base"], by_role["new"]
        base_phase = next(iter(base.values())).phase if base else "train_base"
        present = _seeds_text(set(base) | set(new))
        for seed in expected_seeds(group_seeds[(dataset, method, cfg)]):
            if seed in base and (seed in new or base[seed].result is None):
                continue  # complete, or the base run's own failure is reported
            if seed in base:
                phase, reason = "test_new", "base run without its new run (run the base-to-new test script)"
            elif seed in new:
                phase, reason = base_phase, "new run without its base run"
            else:
                phase, reason = base_phase, f"seed {seed} missing: no base or new run (seeds present: {present})"
            path = run_path(output_dir, "base2new", phase, dataset, shots, method, cfg, seed)
            problems.append(Problem("base2new", phase, dataset, method, cfg, shots, seed, path, reason))
    return problems


def _missing_seeds(output_dir: str, runs: list[Run]) -> list[Problem]:
    """Seeds missing from a slot (protocol, phase, dataset, shots, method, cfg) relative to its group.

    Groups: few-shot by (dataset, method, cfg); cross-dataset and domain generalisation together by
    (method, cfg, shots), as all their runs evaluate the same ImageNet models, and both require the
    cross-dataset ImageNet training run.
    """
    group_seeds: dict[tuple, set[int]] = defaultdict(set)
    slots: dict[tuple, set[int]] = defaultdict(set)
    for run in runs:
        group_seeds[_group(run.protocol, run.dataset, run.method, run.cfg, run.shots)].add(run.seed)
        slots[(run.protocol, run.phase, run.dataset, run.shots, run.method, run.cfg)].add(run.seed)
        if run.protocol in _TRANSFER_PROTOCOLS:
            slots.setdefault(("cross_dataset", "train", SOURCE_DATASET, run.shots, run.method, run.cfg), set())
    problems = []
    for (protocol, phase, dataset, shots, method, cfg), present in slots.items():
        for seed in expected_seeds(group_seeds[_group(protocol, dataset, method, cfg, shots)]):
            if seed not in present:
                path = run_path(output_dir, protocol, phase, dataset, shots, method, cfg, seed)
                reason = f"seed {seed} missing (seeds present: {_seeds_text(present)})"
                problems.append(Problem(protocol, phase, dataset, method, cfg, shots, seed, path, reason))
    return problems


def _group(protocol: str, dataset: str, method: str, cfg: str, shots: int) -> tuple:
    if protocol in _TRANSFER_PROTOCOLS:
        return ("transfer", method, cfg, shots)
    return (protocol, dataset, method, cfg)
