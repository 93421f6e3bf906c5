"""The checkpoint a path names, the learned context it holds, and the backbone its run's log records."""
from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass

import yaml
from torch import Tensor

from mopd.engine.checkpoint import EPOCH_FILE_PREFIX, LATEST_FILE

CONTEXT_KEY = "ctx"  # the learned context in the prompt learner's state_dict: (M, D), or (C, M, D) with CSC
MODEL_FOLDER = "prompt_learner"  # the model name every trainer here registers its learned prompt under
REPRESENTATION_KEY = "compound_rep_tokens"  # MMRL's and MMRL++'s shared tokens (mopd/prompts/representation_learner.py)
_CONFIG_START = "** Config **"
_CONFIG_END = re.compile(r"^(\*\* System info|Collecting env info)")


@dataclass(frozen=True)
class Backbone:
    """The CLIP a prompt was learned on: `MODEL.BACKBONE.NAME` and `MODEL.BACKBONE.PATH`."""

    name: str
    path: str = ""


def resolve_checkpoint(path: str) -> str:
    """The checkpoint file `path` names: the file itself, or the latest one of a model or run folder."""
    if os.path.isfile(path):
        return path
    if not os.path.isdir(path):
        raise FileNotFoundError(f"checkpoint {path!r} does not exist: pass a checkpoint file or a run folder")
    model_dir = os.path.join(path, MODEL_FOLDER) if os.path.isdir(os.path.join(path, MODEL_FOLDER)) else path
    latest = os.path.join(model_dir, LATEST_FILE)
    if os.path.isfile(latest):
        with open(latest, encoding="utf-8") as f:
            name = f.readline().strip()
        if name and os.path.isfile(os.path.join(model_dir, name)):
            return os.path.join(model_dir, name)
    epochs = [
        (int(match.group(1)), file)
        for file in glob.glob(os.path.join(glob.escape(model_dir), EPOCH_FILE_PREFIX + "*"))
        if (match := re.fullmatch(re.escape(EPOCH_FILE_PREFIX) + r"(\d+)", os.path.basename(file)))
    ]
    if not epochs:
        raise FileNotFoundError(
            f"no checkpoint in {path!r}: expected {MODEL_FOLDER}/{EPOCH_FILE_PREFIX}<epoch> "
            "(pass the checkpoint file or the folder of a training run)"
        )
    return max(epochs)[1]


def context_vectors(checkpoint: dict, source: str) -> Tensor:
    """The learned context of a loaded checkpoint as float32: (M, D), or (C, M, D) for class-specific context."""
    state_dict = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if isinstance(state_dict, dict) and REPRESENTATION_KEY in state_dict:
        raise ValueError(
            f"{source} is an MMRL or MMRL++ checkpoint: its representation tokens live in a space of their own "
            "(REP_DIM wide) and reach the towers' hidden layers through learned projections, so there is no "
            "word-embedding context to read; interpret reads that of CoOp, CoCoOp, KgCoOp, ProGrad, MoPD, MaPLe, "
            "IVLP and PromptSRC"
        )
    if not isinstance(state_dict, dict) or CONTEXT_KEY not in state_dict:
        keys = ", ".join(sorted(state_dict)) if isinstance(state_dict, dict) else type(checkpoint).__name__
        raise ValueError(
            f"{source} holds no learned context {CONTEXT_KEY!r} (it has: {keys}); pass a {MODEL_FOLDER} "
            "checkpoint of CoOp, CoCoOp, KgCoOp, ProGrad, MoPD, MaPLe, IVLP or PromptSRC"
        )
    ctx = state_dict[CONTEXT_KEY]
    if ctx.dim() not in (2, 3):
        raise ValueError(f"{source}: context of shape {tuple(ctx.shape)} is neither (M, D) nor (C, M, D)")
    return ctx.float()


def recorded_backbone(run_dir: str) -> Backbone | None:
    """The backbone in the config dump of the run's log (log.txt, as Dassl and train.py print it), if any."""
    for log in sorted(glob.glob(os.path.join(glob.escape(run_dir), "log.txt*"))):
        with open(log, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
        if _CONFIG_START not in lines:
            continue
        block = []
        for line in lines[lines.index(_CONFIG_START) + 1 :]:
            if _CONFIG_END.match(line):
                break
            if block or not set(line) <= {"*"}:  # skip the line of stars under the heading
                block.append(line)
        try:
            backbone = yaml.safe_load("\n".join(block))["MODEL"]["BACKBONE"]
            return Backbone(str(backbone["NAME"]), str(backbone.get("PATH") or ""))
        except (yaml.YAMLError, TypeError, KeyError):
            continue
    return None


def run_folder_of(checkpoint_file: str) -> str:
    """The run folder of `<run>/<model>/model.pth.tar-N`."""
    return os.path.dirname(os.path.dirname(os.path.abspath(checkpoint_file)))
