"""Finding the run directories of the protocol scripts' output tree and what each one holds.

Layout: `<OUT>/<protocol>/[<phase>/]<dataset>/shots_<K>/<Method>/<cfg>/seed<S>/`, where few_shot has
no phase level.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from mopd.results.logs import EvalResult, list_log_files, read_run_log
from mopd.results.names import dataset_sort_key, method_sort_key

# The phases each protocol's scripts write; "" means the protocol has no phase level.
PROTOCOL_PHASES: dict[str, tuple[str, ...]] = {
    "base2new": ("train_base", "test_base", "test_new"),
    "cross_dataset": ("train", "test"),
    "domain_generalization": ("train", "test"),
    "few_shot": ("",),
}
PROTOCOLS: tuple[str, ...] = tuple(PROTOCOL_PHASES)
LAYOUT_HELP = "<OUT>/<protocol>/[<phase>/]<dataset>/shots_<K>/<Method>/<cfg>/seed<S>"

_SEED_DIR = re.compile(r"^seed(\d+)$")
_SHOTS_DIR = re.compile(r"^shots_(\d+)$")


@dataclass(frozen=True)
class Run:
    """One run directory: where it sits in the layout and its result (None with `problem` when absent)."""

    protocol: str
    phase: str
    dataset: str
    shots: int
    method: str
    cfg: str
    seed: int
    path: str
    result: EvalResult | None
    problem: str  # why there is no result; empty when `result` is set


@dataclass(frozen=True)
class RunTree:
    """Everything found under an output directory."""

    runs: list[Run]
    unrecognised: list[str]  # run-like directories outside the layout


def run_path(
    output_dir: str, protocol: str, phase: str, dataset: str, shots: int, method: str, cfg: str, seed: int
) -> str:
    """The directory the scripts use for one run (it need not exist)."""
    parts = [output_dir, protocol] + ([phase] if phase else []) + [dataset, f"shots_{shots}", method, cfg]
    return os.path.join(*parts, f"seed{seed}")


def find_runs(output_dir: str) -> RunTree:
    """Every `seed<S>` directory (and any other directory holding a log.txt) under `output_dir`."""
    runs: list[Run] = []
    unrecognised: list[str] = []
    for dirpath, dirnames, _ in os.walk(output_dir):
        dirnames.sort()
        is_seed_dir = _SEED_DIR.match(os.path.basename(dirpath)) is not None
        if dirpath == output_dir or not (is_seed_dir or list_log_files(dirpath)):
            continue
        dirnames[:] = []  # checkpoint and tensorboard folders inside a run are not runs
        run = _parse_run_dir(output_dir, dirpath)
        if run is None:
            unrecognised.append(dirpath)
        else:
            runs.append(run)
    runs.sort(key=_run_order)
    return RunTree(runs, unrecognised)


def _run_order(run: Run) -> tuple:
    return (
        PROTOCOLS.index(run.protocol),
        dataset_sort_key(run.dataset),
        method_sort_key(run.method),
        run.cfg,
        run.shots,
        run.phase,
        run.seed,
    )


def _parse_run_dir(output_dir: str, run_dir: str) -> Run | None:
    parts = os.path.relpath(run_dir, output_dir).split(os.sep)
    phases = PROTOCOL_PHASES.get(parts[0])
    if phases is None:
        return None
    has_phase = phases != ("",)
    if len(parts) != (7 if has_phase else 6):
        return None
    phase = parts[1] if has_phase else ""
    dataset, shots_dir, method, cfg, seed_dir = parts[-5:]
    shots, seed = _SHOTS_DIR.match(shots_dir), _SEED_DIR.match(seed_dir)
    if phase not in phases or shots is None or seed is None:
        return None
    log = read_run_log(run_dir)
    return Run(
        protocol=parts[0],
        phase=phase,
        dataset=dataset,
        shots=int(shots.group(1)),
        method=method,
        cfg=cfg,
        seed=int(seed.group(1)),
        path=run_dir,
        result=log.result,
        problem=log.problem,
    )
