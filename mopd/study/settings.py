"""The one table of every method's protocol settings, read by the study and by the bash scripts.

Each method names its trainer, the folder of its configs under `configs/trainers/`, and per protocol
a *setting*: its name (the `<cfg>` level of the run folders, which `python -m mopd.results` groups
by) and the config file each dataset and shot count uses. A setting's name is also its default
config; the exceptions are published per-dataset or per-shot choices (CoOp trains ImageNet for 50
epochs and the other datasets for 200; its few-shot epochs depend on the shot count). A method may
also have a folder of per-dataset overlays (MoPD's published base-to-new settings), merged after the
config when the dataset has one.
"""
from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from mopd.files.repository import REPO_ROOT
from mopd.results.layout import PROTOCOLS
from mopd.results.names import BENCHMARK_DATASETS, DG_VARIANTS, SOURCE_DATASET, TRANSFER_TARGETS

CONFIGS = os.path.join(REPO_ROOT, "configs")

SHOTS = 16  # shots per class of base-to-new, cross-dataset and domain generalisation
FEW_SHOT_SHOTS: tuple[int, ...] = (1, 2, 4, 8, 16)
SEEDS: tuple[int, ...] = (1, 2, 3)

# The datasets each protocol runs by default (config names under configs/datasets/).
PROTOCOL_DATASETS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "base2new": BENCHMARK_DATASETS,
    "cross_dataset": TRANSFER_TARGETS,
    "domain_generalization": DG_VARIANTS,
    "few_shot": BENCHMARK_DATASETS,
})
TRANSFER_SOURCE = SOURCE_DATASET  # cross-dataset and domain-generalisation models are trained on it


@dataclass(frozen=True)
class Setting:
    """A method's setting for one protocol: its name (= default config) and published exceptions."""

    name: str  # the run folders' <cfg> level and the config used where no exception applies
    per_dataset: Mapping[str, str] = field(default_factory=dict)  # dataset -> config (wins over per_shots)
    per_shots: Mapping[int, str] = field(default_factory=dict)  # shots per class -> config
    # config overrides every run of the setting passes after its config files, as the authors' scripts pass
    # them on the command line (MMRL's TASK); the user's overrides come after them
    opts: tuple[str, ...] = ()
    # a folder of per-dataset overlays (configs/trainers/<method>/<overlay_dir>/<dataset>.yaml) used instead of the
    # method's: the training merges its dataset's after the config, and every evaluation of another dataset merges
    # that target's after the model's config files (MMRL++ sets BETA per target dataset when it tests the ImageNet
    # model); "" keeps the method's overlays, which only trainings read
    overlay_dir: str = ""

    def config(self, dataset: str, shots: int) -> str:
        """The config name used for `dataset` at `shots` shots per class."""
        return self.per_dataset.get(dataset) or self.per_shots.get(shots) or self.name


@dataclass(frozen=True)
class Method:
    """One method of the comparison: what its scripts folder, trainer and configs are."""

    name: str  # scripts/<name>/ and `--methods` name
    trainer: str  # --trainer
    config_dir: str  # configs/trainers/<config_dir>/
    setting: Setting  # used by every protocol not in `protocol_settings`
    protocol_settings: Mapping[str, Setting] = field(default_factory=dict)
    overlay_dir: str = ""  # configs/trainers/<config_dir>/<overlay_dir>/<dataset>.yaml, merged when present
    eval_only: bool = False  # learns nothing: every "train" step is an evaluation
    only_protocols: tuple[str, ...] = ()  # the protocols it runs (empty: all)

    def runs(self, protocol: str) -> bool:
        """Whether the method has runs in `protocol`."""
        return not self.only_protocols or protocol in self.only_protocols

    def setting_for(self, protocol: str, cfg: str = "") -> Setting:
        """The protocol's setting; `cfg` (the scripts' CFG) replaces it by that one config everywhere."""
        if cfg:
            return Setting(cfg)
        return self.protocol_settings.get(protocol, self.setting)

    def config_files(self, setting: Setting, dataset: str, shots: int) -> list[str]:
        """The `--config-file` paths of a run of `dataset`: the setting's config, then the dataset overlay."""
        directory = os.path.join(CONFIGS, "trainers", self.config_dir)
        config = os.path.join(directory, setting.config(dataset, shots) + ".yaml")
        if not os.path.isfile(config):
            names = sorted(name[:-5] for name in os.listdir(directory) if name.endswith(".yaml"))
            raise FileNotFoundError(f"no config {config}; set CFG to one of: {' '.join(names)}")
        return [config, *self._overlay(setting.overlay_dir or self.overlay_dir, dataset)]

    def evaluation_config_files(self, setting: Setting, model_files: Sequence[str], dataset: str) -> list[str]:
        """The `--config-file` paths of an evaluation of `dataset` with a model trained with `model_files`: those,
        then the target's overlay when the setting has its own overlays (the model's dataset has it already)."""
        files = list(model_files)
        for overlay in self._overlay(setting.overlay_dir, dataset):
            if overlay not in files:
                files.append(overlay)
        return files

    def _overlay(self, overlay_dir: str, dataset: str) -> list[str]:
        overlay = os.path.join(CONFIGS, "trainers", self.config_dir, overlay_dir, dataset + ".yaml")
        return [overlay] if overlay_dir and os.path.isfile(overlay) else []


_COOP_IMAGENET = "vit_b16_ep50_ctxv1"

METHODS: Mapping[str, Method] = MappingProxyType({
    "zsclip": Method("zsclip", "ZeroshotCLIP", "CoOp", Setting("vit_b16"), eval_only=True),
    # A linear probe classifies only the classes it was fitted on: few-shot, CoOp's lpclip/ baseline.
    "lpclip": Method("lpclip", "LinearProbeCLIP", "LinearProbeCLIP", Setting("vit_b16"), only_protocols=("few_shot",)),
    "coop": Method(
        "coop", "CoOp", "CoOp",
        # Cross-dataset and DG train on ImageNet, which CoOp trains for 50 epochs.
        Setting(_COOP_IMAGENET),
        protocol_settings={
            # CoCoOp's base-to-new protocol for CoOp, where the published 82.69 / 63.22 / 71.66 come from.
            "base2new": Setting("vit_b16_ctxv1", per_dataset={"imagenet": _COOP_IMAGENET}),
            # CoOp's few-shot protocol (its COOP.md): M=16 context tokens, class token at the end,
            # 50 epochs for 1 shot, 100 for 2 and 4, 200 for 8 and 16; ImageNet 50 epochs at every shot count.
            "few_shot": Setting(
                "vit_b16",
                per_dataset={"imagenet": "vit_b16_ep50"},
                per_shots={1: "vit_b16_ep50", 2: "vit_b16_ep100", 4: "vit_b16_ep100"},
            ),
        },
    ),
    "cocoop": Method("cocoop", "CoCoOp", "CoCoOp", Setting("vit_b16_c4_ep10_batch1_ctxv1")),
    "kgcoop": Method("kgcoop", "KgCoOp", "KgCoOp", Setting("vit_b16_ep100_ctxv1")),
    "prograd": Method("prograd", "ProGrad", "ProGrad", Setting("vit_b16_ep50_ctxv1")),
    "mopd": Method("mopd", "MoPD", "MoPD", Setting("vit_b16_ep25_ctxv1"), overlay_dir="base2new"),
    # MaPLe's scripts (muzairkhattak/multimodal-prompt-learning): the base-to-new config on every dataset, a
    # shallower and shorter one for the ImageNet model of cross-dataset and domain generalisation; no few-shot config.
    "maple": Method(
        "maple", "MaPLe", "MaPLe", Setting("vit_b16_c2_ep5_batch4_2ctx"),
        protocol_settings={protocol: Setting("vit_b16_c2_ep5_batch4_2ctx_cross_datasets")
                           for protocol in ("cross_dataset", "domain_generalization")},
    ),
    # IVLP as MaPLe's repository publishes it, for every protocol (PromptSRC's 4+4-token, 20-epoch version:
    # CFG=vit_b16_c2_ep20_batch4_4+4ctx).
    "ivlp": Method("ivlp", "IVLP", "IVLP", Setting("vit_b16_c2_ep5_batch4_2+2ctx")),
    # PromptSRC's scripts (muzairkhattak/PromptSRC): its few-shot GPA of mean 45, std 5 for five datasets is a
    # commented alternative in the authors' config, a config of its own here.
    # MMRL's scripts (yunncheng/MMRL scripts/mmrl/): ImageNet's own config in base-to-new and few-shot, TASK on every
    # command line (it picks the evaluation branch), the per-dataset table of trainers/config.py as overlays, and the
    # cross-dataset scripts' REG_WEIGHT 0.2 and REP_DIM 512, which replace the table's values.
    "mmrl": Method(
        "mmrl", "MMRL", "MMRL",
        Setting("vit_b16", per_dataset={"imagenet": "vit_b16_imagenet"}, opts=("TRAINER.MMRL.TASK", "B2N")),
        protocol_settings={
            **{protocol: Setting("vit_b16_cross_datasets", opts=("TRAINER.MMRL.TASK", "CD", "TRAINER.MMRL.REG_WEIGHT",
                                                                  "0.2", "TRAINER.MMRL.REP_DIM", "512"))
               for protocol in ("cross_dataset", "domain_generalization")},
            "few_shot": Setting("vit_b16_few_shot", per_dataset={"imagenet": "vit_b16_imagenet"},
                                opts=("TRAINER.MMRL.TASK", "FS")),
        },
        overlay_dir="datasets",
    ),
    # MMRL++'s scripts (yunncheng/MMRL scripts/mmrlpp/): MMRL's, with the few-shot config of its own (lr 0.002, 100
    # epochs), and no REG_WEIGHT/REP_DIM on the cross-dataset command lines. Its trainers/config.py has one table for
    # base-to-new and few-shot (datasets/) and one for cross-dataset and domain generalisation (cross_datasets/:
    # ImageNet's training, and the BETA each target dataset is evaluated with).
    "mmrlpp": Method(
        "mmrlpp", "MMRLpp", "MMRLpp",
        Setting("vit_b16", per_dataset={"imagenet": "vit_b16_imagenet"}, opts=("TRAINER.MMRLPP.TASK", "B2N")),
        protocol_settings={
            **{protocol: Setting("vit_b16_cross_datasets", opts=("TRAINER.MMRLPP.TASK", "CD"),
                                 overlay_dir="cross_datasets")
               for protocol in ("cross_dataset", "domain_generalization")},
            "few_shot": Setting("vit_b16_few_shot", per_dataset={"imagenet": "vit_b16_imagenet"},
                                opts=("TRAINER.MMRLPP.TASK", "FS")),
        },
        overlay_dir="datasets",
    ),
    "promptsrc": Method(
        "promptsrc", "PromptSRC", "PromptSRC", Setting("vit_b16_c2_ep20_batch4_4+4ctx"),
        protocol_settings={
            **{protocol: Setting("vit_b16_c2_ep20_batch4_4+4ctx_cross_datasets")
               for protocol in ("cross_dataset", "domain_generalization")},
            "few_shot": Setting("vit_b16_c2_ep50_batch4_4+4ctx_few_shot", per_dataset={
                dataset: "vit_b16_c2_ep50_batch4_4+4ctx_few_shot_gpa45"
                for dataset in ("stanford_cars", "oxford_flowers", "fgvc_aircraft", "dtd", "eurosat")}),
        },
    ),
})


def _unknown(kind: str, name: str, valid: list[str]) -> ValueError:
    near = difflib.get_close_matches(name, valid, n=1)
    hint = f" (did you mean '{near[0]}'?)" if near else ""
    return ValueError(f"unknown {kind} '{name}'{hint}; valid: {' '.join(valid)}")


def get_method(name: str) -> Method:
    """The method called `name` (its scripts folder name), or an error listing the valid names."""
    if name not in METHODS:
        raise _unknown("method", name, list(METHODS))
    return METHODS[name]


def check_protocol(name: str) -> str:
    """`name` if it is a protocol, else an error listing the valid ones."""
    if name not in PROTOCOLS:
        raise _unknown("protocol", name, list(PROTOCOLS))
    return name


def dataset_config(name: str) -> str:
    """Path of configs/datasets/<name>.yaml, or an error listing the valid dataset names."""
    directory = os.path.join(CONFIGS, "datasets")
    path = os.path.join(directory, name + ".yaml")
    if not os.path.isfile(path):
        valid = sorted(entry[:-5] for entry in os.listdir(directory) if entry.endswith(".yaml"))
        raise _unknown("dataset", name, valid)
    return path
