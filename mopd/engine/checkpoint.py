"""Checkpoint I/O in Dassl's format, written atomically and read without running pickled code.

Used by both backends (also under real Dassl), so this module never imports `dassl`.
A checkpoint is a dict with keys state_dict, epoch, optimizer, scheduler and val_result (this
repository adds training_state and meta, see `checkpoint_meta`), saved as
`<save_dir>/model.pth.tar-<epoch>` (or `model_name`), with a `checkpoint` text file naming the latest.
"""
from __future__ import annotations

import logging
import os
import os.path as osp
import pickle
import re
import shutil
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from mopd.files.atomic import atomic_path
from mopd.engine.foreign_checkpoint import inert_objects_in, load_foreign_checkpoint
from mopd.files.torch_files import UNREADABLE_FILE_ERRORS

logger = logging.getLogger(__name__)

LATEST_FILE = "checkpoint"  # text file naming the latest checkpoint of a model directory
BEST_FILE = "model-best.pth.tar"
EPOCH_FILE_PREFIX = "model.pth.tar-"

# How torch.load(weights_only=True) names a pickled class or function it refuses to import.
_REFUSED_GLOBAL = re.compile(r"\bGLOBAL\b")


def _atomic_write(fpath: str, write: Callable[[str], None]) -> None:
    """Call `write(tmp_path)` on a temporary file beside `fpath`, then rename it over `fpath`.

    A failed write (a full disk, say) leaves `fpath` as it was and raises an OSError that says so.
    """
    try:
        with atomic_path(fpath) as tmp:
            write(tmp)
    except (OSError, RuntimeError) as err:  # torch.save reports a failed write as a RuntimeError
        raise OSError(
            f"could not write {fpath} ({err}); the files already in {osp.dirname(fpath)} are intact. "
            "Free disk space and run the same command again to resume"
        ) from err


def _strip_module_prefix(state_dict: Mapping[str, Any]) -> OrderedDict[str, Any]:
    """Drop the "module." prefix that nn.DataParallel adds to parameter names."""
    return OrderedDict((k[len("module."):] if k.startswith("module.") else k, v) for k, v in state_dict.items())


def save_checkpoint(
    state: dict[str, Any],
    save_dir: str,
    is_best: bool = False,
    remove_module_from_keys: bool = True,
    model_name: str = "",
) -> str:
    """Save `state` to `save_dir/<model_name or model.pth.tar-<epoch>>` atomically.

    Also rewrites `save_dir/checkpoint` to name this file, and copies it to `model-best.pth.tar`
    when `is_best`. A crash never leaves a truncated checkpoint behind.

    Returns:
        The path written.
    """
    os.makedirs(save_dir, exist_ok=True)
    if remove_module_from_keys:
        state = {**state, "state_dict": _strip_module_prefix(state["state_dict"])}
    fpath = osp.join(save_dir, model_name or f"{EPOCH_FILE_PREFIX}{state['epoch']}")
    _atomic_write(fpath, lambda tmp: torch.save(state, tmp))
    logger.info("Checkpoint saved to %s", fpath)

    def write_latest(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(f"{osp.basename(fpath)}\n")

    _atomic_write(osp.join(save_dir, LATEST_FILE), write_latest)

    if is_best:
        best_fpath = osp.join(save_dir, BEST_FILE)
        _atomic_write(best_fpath, lambda tmp: shutil.copyfile(fpath, tmp))
        logger.info('Best checkpoint saved to "%s"', best_fpath)
    return fpath


def _unreadable(fpath: str, err: BaseException) -> ValueError:
    """The error for a file torch.load cannot read, naming it and what to do."""
    # torch's messages run on for several lines: keep their first sentence
    first_sentence = re.split(r"(?<=\.) ", " ".join(str(err).split()))[0][:200].rstrip(".")
    return ValueError(
        f'cannot load checkpoint "{fpath}": it is corrupt or truncated, or not a PyTorch checkpoint '
        f"({type(err).__name__}: {first_sentence}). Copy it again from where it came from, or re-create it by training"
    )


def load_checkpoint(fpath: str) -> Any:
    """Load a checkpoint onto the CPU without running pickled code.

    `torch.load(weights_only=True)` reads this repository's checkpoints. A file it refuses because
    it pickles Python objects (Dassl's scheduler state, as in checkpoints of the CoOp-family
    repositories) is read by `load_foreign_checkpoint`, where those objects become inert placeholders.

    Raises:
        FileNotFoundError: `fpath` does not exist.
        ValueError: the file is corrupt, truncated or not a checkpoint.
    """
    if not fpath:
        raise ValueError(f"checkpoint path is empty ({fpath!r}); pass the path of a .pth/.pth.tar file")
    if not osp.isfile(fpath):
        raise FileNotFoundError(f'No checkpoint file at "{fpath}"; check the path (e.g. --model-dir/--resume)')
    try:
        return torch.load(fpath, map_location="cpu", weights_only=True)
    except PermissionError:
        raise
    except pickle.UnpicklingError as err:
        if not _REFUSED_GLOBAL.search(str(err)):
            raise _unreadable(fpath, err) from err
    except UNREADABLE_FILE_ERRORS as err:
        raise _unreadable(fpath, err) from err
    try:
        return load_foreign_checkpoint(fpath)
    except UNREADABLE_FILE_ERRORS as err:
        raise _unreadable(fpath, err) from err


def available_checkpoints(model_dir: str) -> list[str]:
    """The checkpoint files in `model_dir`: epoch files in epoch order, then the best model if there is one."""
    if not osp.isdir(model_dir):
        return []
    files = os.listdir(model_dir)
    epochs = sorted(int(f[len(EPOCH_FILE_PREFIX):]) for f in files
                    if f.startswith(EPOCH_FILE_PREFIX) and f[len(EPOCH_FILE_PREFIX):].isdigit())
    return [f"{EPOCH_FILE_PREFIX}{e}" for e in epochs] + ([BEST_FILE] if BEST_FILE in files else [])


def _pointer_advice(fdir: str, named: str) -> str:
    """How to get past a `checkpoint` pointer file that names a missing or unreadable file `named`."""
    pointer = osp.join(fdir, LATEST_FILE)
    earlier = [name for name in available_checkpoints(fdir) if name not in (BEST_FILE, named)]
    resume = (f"to resume from an earlier epoch, write one of {earlier} into {pointer}; " if earlier
              else "there is no other epoch checkpoint to resume from; ")
    return f"{resume}to train from scratch, delete {pointer}"


def read_latest_checkpoint(fdir: str) -> tuple[str, Any]:
    """Load the checkpoint that the pointer file `fdir/checkpoint` names; return its path and contents."""
    pointer = osp.join(fdir, LATEST_FILE)
    if not osp.isfile(pointer):
        raise FileNotFoundError(
            f'No "{LATEST_FILE}" file in {fdir}, so there is no checkpoint to resume from; '
            "start without --resume or point it at a run directory"
        )
    with open(pointer, encoding="utf-8") as f:
        name = f.readline().strip()
    fpath = osp.join(fdir, name)
    if not name or not osp.isfile(fpath):
        what = f"names {name}, which does not exist" if name else "is empty"
        raise FileNotFoundError(f"cannot resume: the pointer file {pointer} {what}; {_pointer_advice(fdir, name)}")
    logger.info('Loading checkpoint from "%s"', fpath)
    try:
        return fpath, load_checkpoint(fpath)
    except ValueError as err:
        raise ValueError(f"cannot resume: {err}; {_pointer_advice(fdir, name)}") from err


def load_weights(model: nn.Module, state_dict: Mapping[str, Any], fpath: str, advice: str) -> None:
    """Strictly load `state_dict` into `model`; a mismatch raises ValueError naming `fpath` and ending with `advice`."""
    try:
        model.load_state_dict(state_dict)
    except RuntimeError as err:
        detail = " ".join(str(err).split())  # torch's message spans several indented lines
        raise ValueError(f'Checkpoint "{fpath}" does not fit model {type(model).__name__}: {detail}. {advice}') from err


def restore_checkpoint(
    fpath: str,
    checkpoint: dict[str, Any],
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
) -> None:
    """Load a checkpoint read from `fpath` into model, optimizer and scheduler to continue training it."""
    inert = inert_objects_in([checkpoint.get("optimizer"), checkpoint.get("scheduler")])
    if inert:
        raise ValueError(
            f'cannot resume from "{fpath}": its optimizer and scheduler state are pickled objects ({", ".join(inert)}) '
            "that are not run, so training cannot continue from it; evaluate it with --eval-only --model-dir, "
            "or train in another output directory"
        )
    advice = "It was written with other settings; resume with those, or train in another output directory"
    load_weights(model, checkpoint["state_dict"], fpath, advice)
    logger.info("Loaded model weights")
    if optimizer is not None and checkpoint.get("optimizer") is not None:
        optimizer.load_state_dict(checkpoint["optimizer"])
        logger.info("Loaded optimizer")
    if scheduler is not None and checkpoint.get("scheduler") is not None:
        scheduler.load_state_dict(checkpoint["scheduler"])
        logger.info("Loaded scheduler")
    logger.info("Previous epoch: %d", int(checkpoint["epoch"]))


def load_pretrained_weights(model: nn.Module, weight_path: str) -> None:
    """Load the entries of a checkpoint (or bare state_dict) that match `model` by name and shape.

    "module." prefixes are stripped. Entries that do not match, and model entries left untouched,
    are logged. A file that matches nothing raises ValueError (it is the wrong file).
    """
    checkpoint = load_checkpoint(weight_path)
    state_dict = checkpoint["state_dict"] if "state_dict" in checkpoint else checkpoint
    model_dict = model.state_dict()
    matched: OrderedDict[str, torch.Tensor] = OrderedDict()
    discarded: list[str] = []
    for key, value in _strip_module_prefix(state_dict).items():
        if key in model_dict and model_dict[key].size() == value.size():
            matched[key] = value
        else:
            discarded.append(key)
    if not matched:
        raise ValueError(
            f"No entry of {weight_path} matches the model by name and shape (file keys: "
            f"{list(state_dict)[:10]}..., model keys: {list(model_dict)[:10]}...); "
            "check that the weights belong to this model"
        )
    model_dict.update(matched)
    model.load_state_dict(model_dict)
    logger.info("Loaded pretrained weights from %s (%d tensors)", weight_path, len(matched))
    if discarded:
        logger.info("Unexpected or shape-mismatched keys discarded: %s", discarded)
    missing = [key for key in model_dict if key not in matched]
    if missing:
        logger.info("Model keys not in the file (kept as initialised): %s", missing)
