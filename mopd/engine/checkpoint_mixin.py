"""`CheckpointMixin`: save, resume and load every registered model in Dassl's file layout.

Shared by the built-in `TrainerBase` and by this repository's trainers under real Dassl (put it
first in the bases), so it relies only on `self._models`, `self._optims`, `self._scheds` and
`self.get_model_names()`, and never imports `dassl`. Layout per model name:
`<dir>/<name>/model.pth.tar-<epoch>`, `<dir>/<name>/model-best.pth.tar`, `<dir>/<name>/checkpoint`.
"""
from __future__ import annotations

import logging
import os.path as osp
from typing import Any

from mopd.engine.checkpoint import (
    BEST_FILE,
    EPOCH_FILE_PREFIX,
    LATEST_FILE,
    available_checkpoints,
    load_checkpoint,
    load_weights,
    read_latest_checkpoint,
    restore_checkpoint,
    save_checkpoint,
)
from mopd.engine.checkpoint_meta import META_KEY, Purpose, check_checkpoint_meta
from mopd.engine.finite import check_finite_state_dict

logger = logging.getLogger(__name__)


class CheckpointMixin:
    """Checkpoint methods for a Dassl-style trainer holding `_models`, `_optims` and `_scheds`."""

    _models: dict[str, Any]
    _optims: dict[str, Any]
    _scheds: dict[str, Any]
    # get_model_names() comes from the trainer; defining it here would shadow Dassl's in the MRO.

    def save_model(
        self,
        epoch: int,
        directory: str,
        is_best: bool = False,
        val_result: float | None = None,
        model_name: str = "",
    ) -> None:
        """Save each model with its optimizer and scheduler state; the stored epoch is `epoch + 1`."""
        for name in self.get_model_names():
            meta = self.checkpoint_meta()
            optim = self._optims[name]
            sched = self._scheds[name]
            state = {
                "state_dict": self._models[name].state_dict(),
                "epoch": epoch + 1,
                "optimizer": None if optim is None else optim.state_dict(),
                "scheduler": None if sched is None else sched.state_dict(),
                "val_result": val_result,
                "training_state": self.training_state(),
                **({META_KEY: meta} if meta else {}),
            }
            save_checkpoint(state, osp.join(directory, name), is_best=is_best, model_name=model_name)

    def resume_model_if_exist(self, directory: str) -> int:
        """Resume every model from `directory` if each has a checkpoint; return the start epoch (0 if none)."""
        names = self.get_model_names()
        if not all(osp.isfile(osp.join(directory, name, LATEST_FILE)) for name in names):
            logger.info("No checkpoint found, train from scratch")
            return 0
        logger.info("Found checkpoint at %s (will resume training)", directory)
        checkpoints = {}
        for name in names:
            fpath, checkpoint = read_latest_checkpoint(osp.join(directory, name))
            state_dict = self._checked_state_dict(name, fpath, checkpoint, "resume")
            restore_checkpoint(fpath, {**checkpoint, "state_dict": state_dict},
                               self._models[name], self._optims[name], self._scheds[name])
            checkpoints[name] = checkpoint
        epochs = {name: int(checkpoint["epoch"]) for name, checkpoint in checkpoints.items()}
        if len(set(epochs.values())) > 1:
            logger.warning("Models were saved at different epochs %s; resuming from the earliest", epochs)
        earliest = min(names, key=epochs.__getitem__)
        self.restore_training_state(checkpoints[earliest].get("training_state") or {})
        return epochs[earliest]

    def checkpoint_meta(self) -> dict[str, Any]:
        """What wrote the checkpoints (trainer, backbone, classes, settings; see `checkpoint_meta`), saved as `meta`.

        Empty (the default) records and checks nothing.
        """
        return {}

    def accepted_checkpoint_trainers(self) -> tuple[str, ...]:
        """Other trainers whose checkpoints evaluation may load on purpose (none by default)."""
        return ()

    def convert_foreign_state_dict(self, name: str, state_dict: dict[str, Any]) -> dict[str, Any]:
        """Hook: map the keys of a checkpoint without `meta` (another code base's layout) to this model's."""
        return state_dict

    def checkpoint_folders(self, name: str) -> tuple[str, ...]:
        """Folders of a run directory that evaluation reads `name`'s checkpoints from, in order (its own name).

        A trainer adds the name another code base registers the same model under, so that
        `--model-dir` takes that code base's run folders as they are.
        """
        return (name,)

    def _checked_state_dict(
        self, name: str, fpath: str, checkpoint: dict[str, Any], purpose: Purpose
    ) -> dict[str, Any]:
        """The checkpoint's state dict after the meta check, converted when it comes from another code base."""
        has_meta = check_checkpoint_meta(fpath, name, checkpoint.get(META_KEY), self.checkpoint_meta(), purpose,
                                         self.accepted_checkpoint_trainers())
        state_dict = checkpoint["state_dict"]
        check_finite_state_dict(state_dict, fpath, purpose)
        if has_meta:
            return state_dict
        try:
            return self.convert_foreign_state_dict(name, dict(state_dict))
        except ValueError as err:
            raise ValueError(f'cannot load checkpoint "{fpath}" into model "{name}": {err}') from err

    def training_state(self) -> dict[str, Any]:
        """Trainer state besides the models (tensors and numbers) saved in every checkpoint for resuming."""
        return {}

    def restore_training_state(self, state: dict[str, Any]) -> None:
        """Take back what `training_state` saved (an empty dict for checkpoints without it)."""

    def loaded_for_evaluation(self, name: str, checkpoint: dict[str, Any]) -> None:
        """Hook for `load_model`, after model `name` took the weights of `checkpoint` (its whole dict, `meta` included)."""

    def adapt_loaded_state_dict(self, name: str, state_dict: dict[str, Any]) -> dict[str, Any]:
        """Hook for `load_model`: each deliberate tolerance of a trainer is one override that logs what it skips."""
        return state_dict

    def load_model(self, directory: str, epoch: int | None = None) -> None:
        """Load each model's weights from `model.pth.tar-<epoch>`, or `model-best.pth.tar` if epoch is None."""
        if not directory:
            logger.info(
                "Note that load_model() is skipped as no pretrained model is given "
                "(ignore this if it's done on purpose)"
            )
            return
        model_file = BEST_FILE if epoch is None else f"{EPOCH_FILE_PREFIX}{epoch}"
        for name in self.get_model_names():
            model_path = self._checkpoint_to_evaluate(directory, name, model_file)
            checkpoint = load_checkpoint(model_path)
            val_result = checkpoint.get("val_result")
            val_text = "None" if val_result is None else f"{val_result:.1f}"
            logger.info("Load %s to %s (epoch=%s, val_result=%s)", model_path, name, checkpoint["epoch"], val_text)
            state_dict = self._checked_state_dict(name, model_path, checkpoint, "evaluate")
            state_dict = self.adapt_loaded_state_dict(name, state_dict)
            load_weights(self._models[name], state_dict, model_path,
                         "It was probably written with another trainer, backbone or dataset; "
                         "point to the matching output directory")
            self.loaded_for_evaluation(name, checkpoint)

    def _checkpoint_to_evaluate(self, directory: str, name: str, model_file: str) -> str:
        """`directory/<folder>/model_file` for the first of `checkpoint_folders(name)` that has it."""
        folders = [osp.join(directory, folder) for folder in self.checkpoint_folders(name)]
        for folder in folders:
            if osp.isfile(osp.join(folder, model_file)):
                return osp.join(folder, model_file)
        available = "; ".join(f"in {folder}: {_epochs(available_checkpoints(folder)) or 'none'}" for folder in folders)
        raise FileNotFoundError(
            f'No model at "{osp.join(folders[0], model_file)}"; checkpoints available {available} '
            "(pass one of these epochs, e.g. --load-epoch, or the right directory)"
        )


def _epochs(checkpoint_files: list[str]) -> list[str]:
    """Epoch numbers (and "best") of checkpoint file names, as --load-epoch takes them."""
    return [f[len(EPOCH_FILE_PREFIX):] if f.startswith(EPOCH_FILE_PREFIX) else "best" for f in checkpoint_files]
