"""What a checkpoint was written by, saved beside its weights as `meta`, and the check made before loading it.

A trainer describes itself with a dict (see `CheckpointMixin.checkpoint_meta`):
    trainer            the registered trainer name, e.g. "MoPD"
    backbone           MODEL.BACKBONE.NAME, e.g. "ViT-B/16"
    num_classes        the classes it was trained on
    model_settings     settings that shape the saved prompt as evaluation uses it (e.g. n_ctx, csc)
    training_settings  settings that only training uses (e.g. MoPD's pool size and top_k)
It holds only strings, numbers and booleans, so `torch.load(weights_only=True)` (ours, and real
Dassl's `load_checkpoint` and `resume_from_checkpoint`, which ignore extra keys) reads it.

Evaluation compares trainer, backbone and model_settings: the classes may differ (base-to-new and
cross-dataset runs evaluate on other classes) and training settings are unused. Resuming compares
everything. A checkpoint without `meta` (older, or written by another code base) is loaded with a
warning, on parameter names and shapes alone.
"""
from __future__ import annotations

import logging
from typing import Any, Literal

logger = logging.getLogger(__name__)

META_KEY = "meta"
# The config key that lets evaluation load a checkpoint written by another trainer.
CROSS_TRAINER_KEY = "TRAINER.COOP.ACCEPT_CHECKPOINT_OF"

Purpose = Literal["evaluate", "resume"]


def describe_meta(meta: dict[str, Any]) -> str:
    """One line: "trainer MoPD, backbone tiny, 3 classes, n_ctx=4, csc=False, ..."."""
    settings = {**meta.get("model_settings", {}), **meta.get("training_settings", {})}
    parts = [f"trainer {meta.get('trainer')}", f"backbone {meta.get('backbone')}", f"{meta.get('num_classes')} classes"]
    return ", ".join(parts + [f"{key}={value}" for key, value in settings.items()])


def _differences(saved: dict[str, Any], current: dict[str, Any], purpose: Purpose, cross_trainer: bool) -> list[str]:
    """The entries that differ, as "name: checkpoint X, this run Y"."""
    compared = ["trainer", "backbone"] + (["num_classes"] if purpose == "resume" else [])
    pairs = [(key, saved.get(key), current.get(key)) for key in compared if not (key == "trainer" and cross_trainer)]
    groups = ["model_settings"] + (["training_settings"] if purpose == "resume" else [])
    for group in groups:
        ours, theirs = current.get(group, {}), saved.get(group, {})
        keys = [key for key in ours if key in theirs] if cross_trainer else list(dict.fromkeys([*theirs, *ours]))
        pairs += [(key, theirs.get(key), ours.get(key)) for key in keys]
    return [f"{key}: checkpoint {theirs!r}, this run {ours!r}" for key, theirs, ours in pairs if theirs != ours]


def check_checkpoint_meta(
    fpath: str,
    model_name: str,
    saved: dict[str, Any] | None,
    current: dict[str, Any],
    purpose: Purpose,
    accepted_trainers: tuple[str, ...] = (),
) -> bool:
    """Raise ValueError if the checkpoint at `fpath` was written by another trainer or setup than `current`.

    Args:
        model_name: the registered model the checkpoint is for (e.g. "prompt_learner").
        saved: the checkpoint's `meta`, None when it has none.
        current: this run's meta; empty when the trainer does not describe itself (nothing is checked).
        purpose: "evaluate" (--eval-only, best model) or "resume".
        accepted_trainers: other trainers whose checkpoints evaluation may load (settings both
            trainers have must still agree).

    Returns:
        Whether the checkpoint carries `meta` (False: written elsewhere or by an older version).
    """
    if saved is None:
        if current:
            logger.warning(
                'Checkpoint "%s" does not record the trainer, backbone and settings that wrote it (an older '
                "checkpoint, or one from another code base); it is loaded on parameter names and shapes alone",
                fpath,
            )
        return False
    if not current:
        return True
    cross_trainer = purpose == "evaluate" and saved.get("trainer") in accepted_trainers
    differences = _differences(saved, current, purpose, cross_trainer)
    if not differences:
        return True
    holds, asked = describe_meta(saved), describe_meta(current)
    if purpose == "resume":
        advice = (
            "resume with the settings it was written with, or train this setup in another output directory "
            "(or delete that run's checkpoints to start it over)"
        )
    else:
        advice = "point --model-dir at a run of this trainer and setup"
        if saved.get("trainer") != current.get("trainer"):
            advice += (
                f"; to evaluate the {saved.get('trainer')} prompt with {current.get('trainer')} on purpose, "
                f"add {CROSS_TRAINER_KEY} {saved.get('trainer')}"
            )
    action = "resume from" if purpose == "resume" else "load"
    raise ValueError(
        f'cannot {action} checkpoint "{fpath}": it does not fit model "{model_name}" of this run '
        f'({"; ".join(differences)}). '
        f"It holds {holds}; this run is {asked}. To proceed, {advice}"
    )
