"""A study's jobs: every training run with the evaluations of its model, expanded from one selection.

Methods x protocols x datasets x seeds (x shots) give steps; the steps that share a training run
form one job: base-to-new trains on the base classes then tests the new ones; cross-dataset and
domain generalisation train on ImageNet once per seed, then evaluate every target of both protocols
in the same job (they share the ImageNet run, so two jobs never write one folder); few-shot trains
and tests in one run. A job is identified by its training run's folder.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from mopd.study.settings import FEW_SHOT_SHOTS, PROTOCOL_DATASETS, SHOTS, get_method
from mopd.study.steps import Scope, Step, base2new_test, base2new_train, fewshot_train, transfer_test, transfer_train

logger = logging.getLogger(__name__)

TRANSFER_PROTOCOLS = ("cross_dataset", "domain_generalization")


@dataclass(frozen=True)
class Selection:
    """What a study runs; None means each protocol's default datasets or shot counts."""

    methods: tuple[str, ...]
    protocols: tuple[str, ...]
    seeds: tuple[int, ...]
    data: str
    output: str
    datasets: tuple[str, ...] | None = None
    shots: tuple[int, ...] | None = None
    cfg: str = ""  # one config for every dataset instead of the method's setting (one method only)
    overrides: tuple[str, ...] = ()
    allow_settings_change: bool = False  # trainings resume (or count as finished) with other defining settings


@dataclass(frozen=True)
class Job:
    """A training run and the evaluations of its model, run one after another in one process."""

    method: str  # the --methods name
    protocols: tuple[str, ...]
    dataset: str  # the dataset trained on (ImageNet for the transfer protocols)
    shots: int
    seed: int
    steps: tuple[Step, ...]

    @property
    def id(self) -> str:
        """The first step's run folder relative to the output root: unique within a study."""
        first = self.steps[0]
        return os.path.relpath(first.path, first.output)

    @property
    def protocol(self) -> str:
        """The protocols of the job, joined by '+'."""
        return "+".join(self.protocols)

    def done(self) -> bool:
        """Whether every step's finished marker or result is in its folder."""
        return all(step.finished() for step in self.steps)


def _protocol_steps(scope: Scope, protocol: str, dataset: str, seed: int, shots: int) -> list[Step]:
    if protocol == "base2new":
        return [base2new_train(scope, dataset, seed, shots), base2new_test(scope, dataset, seed, shots)]
    if protocol == "few_shot":
        return [fewshot_train(scope, dataset, seed, shots)]
    return [transfer_train(scope, seed, shots), transfer_test(scope, protocol, dataset, seed, shots)]


def _default_shots(protocol: str) -> tuple[int, ...]:
    return FEW_SHOT_SHOTS if protocol == "few_shot" else (SHOTS,)


def plan_jobs(selection: Selection) -> list[Job]:
    """The jobs of `selection`, in method, protocol, dataset, shots and seed order."""
    if selection.cfg and len(selection.methods) != 1:
        raise ValueError("--cfg names one method's config: select exactly one method with --methods")
    jobs: dict[str, dict] = {}
    for name in selection.methods:
        method = get_method(name)
        scope = Scope(method, selection.data, selection.output, selection.cfg, selection.overrides,
                      selection.allow_settings_change)
        for protocol in selection.protocols:
            if protocol == "few_shot" and method.eval_only:
                logger.info("Leaving out %s few_shot: it learns nothing", name)
                continue
            if not method.runs(protocol):
                logger.info("Leaving out %s %s: it runs only %s", name, protocol, " ".join(method.only_protocols))
                continue
            for shots in selection.shots or _default_shots(protocol):
                for dataset in selection.datasets or PROTOCOL_DATASETS[protocol]:
                    for seed in selection.seeds:
                        steps = _protocol_steps(scope, protocol, dataset, seed, shots)
                        job = jobs.setdefault(steps[0].path, {
                            "method": name, "protocols": [], "dataset": steps[0].dataset,
                            "shots": steps[0].shots, "seed": seed, "steps": {},
                        })
                        if protocol not in job["protocols"]:
                            job["protocols"].append(protocol)
                        for step in steps:
                            job["steps"].setdefault(step.path, step)
    return [
        Job(j["method"], tuple(j["protocols"]), j["dataset"], j["shots"], j["seed"], tuple(j["steps"].values()))
        for j in jobs.values()
    ]

