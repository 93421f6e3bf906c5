"""The runs of each protocol (a training or an evaluation of train.py) and where each one lives.

Every bash protocol script is one of these steps, and a study job is a training step with the
evaluations of its model. A step knows its run folder (the layout `python -m mopd.results` reads),
its train.py arguments and whether it has already finished.
"""
from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mopd.feature_cache.split_features import FOLDER_NAME as FEATURE_CACHE_FOLDER
from mopd.results.layout import run_path
from mopd.results.logs import read_run_log
from mopd.runs.finished import FINISHED_MARKER
from mopd.runs.folder import ALLOW_FLAG
from mopd.study.overrides import effective_shots
from mopd.study.settings import TRANSFER_SOURCE, Method, dataset_config
from mopd.study.train_process import finished_with_these_settings

_CHECKPOINT = re.compile(r"model\.pth\.tar-(\d+)$")


@dataclass(frozen=True)
class Scope:
    """What the steps of one script call or one study share."""

    method: Method
    data: str  # datasets root ($DATA)
    output: str  # output root ($OUTPUT)
    cfg: str = ""  # the scripts' CFG: one config for every dataset instead of the method's setting
    overrides: tuple[str, ...] = ()  # KEY VALUE ... passed to train.py after the step's own
    allow_settings_change: bool = False  # trainings resume (or count as finished) with other defining settings


@dataclass(frozen=True)
class Step:
    """One train.py run: a training (`trains`) or an evaluation, into its own run folder."""

    protocol: str
    phase: str
    dataset: str
    shots: int
    seed: int
    trainer: str
    cfg: str  # the setting's name: the run folder's <cfg> level
    config_files: tuple[str, ...]
    trains: bool
    model_dir: str  # the training run whose model this evaluates; "" when it evaluates CLIP itself
    opts: tuple[str, ...]  # config overrides: the step's own, then the user's
    data: str
    output: str
    allow_settings_change: bool = False  # a training passes train.py's --allow-settings-change

    @property
    def path(self) -> str:
        """The run folder."""
        return run_path(self.output, self.protocol, self.phase, self.dataset, self.shots, self.trainer, self.cfg,
                        self.seed)

    def finished(self) -> bool:
        """Whether a previous run of this step ended (see `run_finished`): a training, with this step's settings."""
        if not run_finished(self.path, self.trains):
            return False
        return not self.trains or finished_with_these_settings(self.train_py_args())

    def train_py_args(self, planned: bool = False) -> list[str]:
        """The train.py command line of this step; an evaluation loads the last checkpoint of its model.

        An evaluation needs its model's training to have finished; with `planned`, one whose model is
        not trained yet names its epoch `LAST`.
        """
        args = ["--root", self.data, "--seed", str(self.seed), "--trainer", self.trainer,
                "--dataset-config-file", dataset_config(self.dataset)]
        for file in self.config_files:
            args += ["--config-file", file]
        args += ["--output-dir", self.path]
        if self.trains and self.allow_settings_change:
            args.append(ALLOW_FLAG)
        if not self.trains:
            args.append("--eval-only")
            if self.model_dir:
                trained = run_finished(self.model_dir, trains=True)
                if not (trained or planned):
                    raise FileNotFoundError(f"the training run in {self.model_dir} has not finished: run (or "
                                            "resume) the matching training script first")
                epoch = str(last_checkpoint_epoch(self.model_dir)) if trained else "LAST"
                args += ["--model-dir", self.model_dir, "--load-epoch", epoch]
        # the jobs of one study share one evaluation feature cache, under its output root
        return args + ["TEST.FEATURE_CACHE.DIR", os.path.join(self.output, FEATURE_CACHE_FOLDER), *self.opts]


def run_finished(run_dir: str, trains: bool) -> bool:
    """Whether the run in `run_dir` ended: a training's finished marker, an evaluation's result block."""
    if trains:
        return os.path.isfile(os.path.join(run_dir, FINISHED_MARKER))
    return read_run_log(run_dir).result is not None


def last_checkpoint_epoch(run_dir: str) -> int:
    """The highest epoch saved under run_dir/<model>/model.pth.tar-N (an error when there is none)."""
    epochs = [int(m.group(1)) for f in glob.glob(os.path.join(run_dir, "*", "model.pth.tar-*"))
              if (m := _CHECKPOINT.search(f))]
    if not epochs:
        raise FileNotFoundError(f"no checkpoint in {run_dir}: run the matching training script first")
    return max(epochs)


def _step(scope: Scope, protocol: str, phase: str, dataset: str, seed: int, shots: int, *, trains: bool,
          opts: Sequence[str], model: Step | None = None) -> Step:
    method = scope.method
    if not method.runs(protocol):
        raise ValueError(f"{method.trainer} has no {protocol} runs; it runs only {' '.join(method.only_protocols)}")
    dataset_config(dataset)  # an unknown dataset stops here, with the valid names
    shots = effective_shots(scope.overrides, shots)
    setting = method.setting_for(protocol, scope.cfg)
    if model:
        configs = tuple(method.evaluation_config_files(setting, model.config_files, dataset))
    else:
        configs = tuple(method.config_files(setting, dataset, shots))
    return Step(
        protocol=protocol, phase=phase, dataset=dataset, shots=shots, seed=seed, trainer=method.trainer,
        cfg=setting.name, config_files=configs, trains=trains, model_dir=model.path if model else "",
        opts=(*opts, *setting.opts, *scope.overrides), data=scope.data, output=scope.output,
        allow_settings_change=scope.allow_settings_change,
    )


def _learns(scope: Scope) -> bool:
    return not scope.method.eval_only


def base2new_train(scope: Scope, dataset: str, seed: int, shots: int) -> Step:
    """Train on the base classes (its final test is the Base accuracy); zero-shot CLIP evaluates them."""
    phase = "train_base" if _learns(scope) else "test_base"
    opts = ("DATASET.NUM_SHOTS", str(effective_shots(scope.overrides, shots)), "DATASET.SUBSAMPLE_CLASSES", "base")
    return _step(scope, "base2new", phase, dataset, seed, shots, trains=_learns(scope), opts=opts)


def base2new_test(scope: Scope, dataset: str, seed: int, shots: int) -> Step:
    """Evaluate the base-trained model (or CLIP) on the new classes."""
    model = base2new_train(scope, dataset, seed, shots) if _learns(scope) else None
    opts = ("DATASET.NUM_SHOTS", str(effective_shots(scope.overrides, shots)), "DATASET.SUBSAMPLE_CLASSES", "new")
    return _step(scope, "base2new", "test_new", dataset, seed, shots, trains=False, opts=opts, model=model)


def transfer_train(scope: Scope, seed: int, shots: int) -> Step:
    """Train on all ImageNet classes: the source model of cross-dataset transfer and domain generalisation."""
    opts = ("DATASET.NUM_SHOTS", str(effective_shots(scope.overrides, shots)))
    return _step(scope, "cross_dataset", "train", TRANSFER_SOURCE, seed, shots, trains=_learns(scope), opts=opts)


def transfer_test(scope: Scope, protocol: str, dataset: str, seed: int, shots: int) -> Step:
    """Evaluate the ImageNet model (or CLIP) on all classes of `dataset` (cross_dataset or domain_generalization)."""
    model = transfer_train(scope, seed, shots) if _learns(scope) else None
    return _step(scope, protocol, "test", dataset, seed, shots, trains=False, opts=(), model=model)


def fewshot_train(scope: Scope, dataset: str, seed: int, shots: int) -> Step:
    """Train and test on all classes of `dataset` with `shots` shots per class."""
    if not _learns(scope):
        raise ValueError(f"few_shot needs a trained method; {scope.method.trainer} learns nothing")
    opts = ("DATASET.NUM_SHOTS", str(effective_shots(scope.overrides, shots)))
    return _step(scope, "few_shot", "", dataset, seed, shots, trains=True, opts=opts)


@dataclass(frozen=True)
class ScriptStep:
    """A protocol script: its positional arguments and how they make a step."""

    usage: str
    build: Callable[..., Step]  # (scope, *positional, shots) -> Step


# One entry per scripts/<method>/<name>.sh.
SCRIPT_STEPS: dict[str, ScriptStep] = {
    "base2new_train": ScriptStep("DATASET SEED", base2new_train),
    "base2new_test": ScriptStep("DATASET SEED", base2new_test),
    "xd_train": ScriptStep("SEED", transfer_train),
    "xd_test": ScriptStep("DATASET SEED", lambda scope, d, s, k: transfer_test(scope, "cross_dataset", d, s, k)),
    "dg_test": ScriptStep(
        "VARIANT SEED", lambda scope, d, s, k: transfer_test(scope, "domain_generalization", d, s, k)
    ),
    "fewshot_train": ScriptStep("DATASET SEED", fewshot_train),
}
