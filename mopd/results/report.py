"""The whole report of an output directory: its runs, table entries and incomplete runs."""
from __future__ import annotations

import os
from dataclasses import dataclass

from mopd.results.aggregate import Entry, aggregate
from mopd.results.completeness import Problem, find_problems
from mopd.results.layout import PROTOCOLS, Run, RunTree, find_runs


@dataclass(frozen=True)
class Report:
    """Runs found under `output_dir`, the entries of every table and the missing or incomplete runs."""

    output_dir: str
    runs: list[Run]
    entries: list[Entry]
    problems: list[Problem]


def build_report(output_dir: str, protocol: str | None = None) -> Report:
    """Read every run under `output_dir` (only `protocol`'s when given) and aggregate it.

    Raises:
        FileNotFoundError: `output_dir` is not a directory.
        ValueError: `protocol` is not one of PROTOCOLS.
    """
    if not os.path.isdir(output_dir):
        raise FileNotFoundError(
            f"output directory {output_dir!r} does not exist or is not a directory: pass the OUTPUT root the "
            f"protocol scripts wrote to (it holds {', '.join(PROTOCOLS)})"
        )
    if protocol is not None and protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}: choose one of {', '.join(PROTOCOLS)}")
    tree = find_runs(output_dir)
    if protocol is not None:
        tree = RunTree(
            [r for r in tree.runs if _needed_by(r, protocol)],
            [p for p in tree.unrecognised if os.path.relpath(p, output_dir).split(os.sep)[0] == protocol],
        )
    entries = [e for e in aggregate(tree.runs) if protocol is None or e.protocol == protocol]
    return Report(output_dir, tree.runs, entries, find_problems(output_dir, tree))


def _needed_by(run: Run, protocol: str) -> bool:
    """Runs of `protocol`, plus the cross-dataset ImageNet training that domain generalisation reuses."""
    reused_source = protocol == "domain_generalization" and (run.protocol, run.phase) == ("cross_dataset", "train")
    return run.protocol == protocol or reused_source
