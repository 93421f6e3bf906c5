"""Validation of the method config nodes, run in each trainer's `check_cfg` before anything is built."""
from __future__ import annotations

from yacs.config import CfgNode as CN

from mopd.clip.precision import AMP_DTYPES, PRECISIONS
from mopd.methods.mmrl import TASKS

_POSITIONS = ("end", "middle", "front")


def check_coop_cfg(cfg: CN) -> None:
    """Reject out-of-range `TRAINER.COOP` values with a message naming the key and the valid range."""
    coop = cfg.TRAINER.COOP
    if coop.PREC not in PRECISIONS:
        raise ValueError(f"TRAINER.COOP.PREC={coop.PREC!r} is not one of {PRECISIONS}")
    if coop.AMP_DTYPE not in AMP_DTYPES:
        raise ValueError(f"TRAINER.COOP.AMP_DTYPE={coop.AMP_DTYPE!r} is not one of {AMP_DTYPES}")
    if coop.MAX_NONFINITE_STEPS < 1:
        raise ValueError(f"TRAINER.COOP.MAX_NONFINITE_STEPS={coop.MAX_NONFINITE_STEPS} must be >= 1")
    if coop.N_CTX < 1:
        raise ValueError(f"TRAINER.COOP.N_CTX={coop.N_CTX} must be >= 1")
    if coop.CLASS_TOKEN_POSITION not in _POSITIONS:
        raise ValueError(
            f"TRAINER.COOP.CLASS_TOKEN_POSITION={coop.CLASS_TOKEN_POSITION!r} is not one of {_POSITIONS}"
        )


def check_mopd_cfg(cfg: CN, pool_size: int) -> None:
    """Reject out-of-range `TRAINER.MOPD` values; `pool_size` is the number of teacher templates."""
    mopd = cfg.TRAINER.MOPD
    if not 1 <= mopd.TOP_K <= pool_size:
        raise ValueError(
            f"TRAINER.MOPD.TOP_K={mopd.TOP_K} must be between 1 and the pool size {pool_size} "
            f"(pool {mopd.POOL!r}); lower TOP_K or use a larger pool"
        )
    if mopd.TEMPERATURE <= 0:
        raise ValueError(f"TRAINER.MOPD.TEMPERATURE={mopd.TEMPERATURE} must be > 0")
    if not 0.0 <= mopd.W <= 1.0:
        raise ValueError(f"TRAINER.MOPD.W={mopd.W} must be in [0, 1] (CE weight; MPD gets 1 - W)")
    if mopd.W2 < 0:
        raise ValueError(f"TRAINER.MOPD.W2={mopd.W2} must be >= 0")


def check_maple_cfg(cfg: CN) -> None:
    """Reject `TRAINER.MAPLE` values below their minimum (the depth's maximum is the backbone's, checked when built)."""
    maple = cfg.TRAINER.MAPLE
    if maple.N_CTX < 1:
        raise ValueError(f"TRAINER.MAPLE.N_CTX={maple.N_CTX} must be >= 1")
    if maple.PROMPT_DEPTH < 1:
        raise ValueError(f"TRAINER.MAPLE.PROMPT_DEPTH={maple.PROMPT_DEPTH} must be >= 1 (1 = prompts at the input only)")


def check_ivlp_cfg(cfg: CN, node: str = "IVLP") -> None:
    """Reject IVLP's prompt values (`TRAINER.<node>`: IVLP, or PromptSRC's) below their minimum.

    The depths' maximum is the backbone's, checked when the prompts are built.
    """
    ivlp, key = cfg.TRAINER[node], f"TRAINER.{node}"
    if ivlp.N_CTX_TEXT < 1:
        raise ValueError(f"{key}.N_CTX_TEXT={ivlp.N_CTX_TEXT} must be >= 1")
    if ivlp.PROMPT_DEPTH_TEXT < 1:
        raise ValueError(f"{key}.PROMPT_DEPTH_TEXT={ivlp.PROMPT_DEPTH_TEXT} must be >= 1 (1 = the context only)")
    if ivlp.PROMPT_DEPTH_VISION < 0:
        raise ValueError(f"{key}.PROMPT_DEPTH_VISION={ivlp.PROMPT_DEPTH_VISION} must be >= 0 (0 = no vision prompt)")
    if ivlp.PROMPT_DEPTH_VISION and ivlp.N_CTX_VISION < 1:
        raise ValueError(f"{key}.N_CTX_VISION={ivlp.N_CTX_VISION} must be >= 1 with vision prompts "
                         f"(PROMPT_DEPTH_VISION={ivlp.PROMPT_DEPTH_VISION}); set PROMPT_DEPTH_VISION 0 for none")


def check_promptsrc_cfg(cfg: CN) -> None:
    """Reject PromptSRC's own `TRAINER.PROMPTSRC` values out of range: loss weights >= 0, GPA_STD > 0.

    Its prompt values are IVLP's, checked by `check_ivlp_cfg(cfg, "PROMPTSRC")` (the IVLP trainer's check).
    """
    src = cfg.TRAINER.PROMPTSRC
    for name in ("TEXT_LOSS_WEIGHT", "IMAGE_LOSS_WEIGHT"):
        if src[name] < 0:
            raise ValueError(f"TRAINER.PROMPTSRC.{name}={src[name]} must be >= 0 (published: 25 text, 10 image)")
    if src.GPA_STD <= 0:
        raise ValueError(f"TRAINER.PROMPTSRC.GPA_STD={src.GPA_STD} must be > 0 (the spread of GPA's epoch weights)")


def check_mmrl_cfg(cfg: CN, node: str = "MMRL") -> None:
    """Reject MMRL's keys of `TRAINER.<node>` out of range (REP_LAYERS is checked against the backbone when the
    learner is built)."""
    mmrl, key = cfg.TRAINER[node], f"TRAINER.{node}"
    if not 0.0 <= mmrl.ALPHA <= 1.0:
        raise ValueError(f"{key}.ALPHA={mmrl.ALPHA} must be in [0, 1] (the class-token branch's weight; "
                         "published: 0.7)")
    if mmrl.REG_WEIGHT < 0:
        raise ValueError(f"{key}.REG_WEIGHT={mmrl.REG_WEIGHT} must be >= 0")
    for name in ("REP_DIM", "N_REP_TOKENS"):
        if mmrl[name] < 1:
            raise ValueError(f"{key}.{name}={mmrl[name]} must be >= 1 (published: REP_DIM 512, N_REP_TOKENS 5)")
    if mmrl.TASK not in TASKS:
        raise ValueError(f"{key}.TASK={mmrl.TASK!r} is not one of {TASKS} (base-to-new, few-shot, "
                         "cross-dataset/domain generalisation)")


def check_mmrlpp_cfg(cfg: CN) -> None:
    """Reject `TRAINER.MMRLPP` values out of range: MMRL's keys, BETA, the two ranks."""
    check_mmrl_cfg(cfg, "MMRLPP")
    node = cfg.TRAINER.MMRLPP
    if not 0.0 <= node.BETA <= 1.0:
        raise ValueError(f"TRAINER.MMRLPP.BETA={node.BETA} must be in [0, 1] (the new tokens' weight against the "
                         "carried ones; published: 0.1 to 0.9 per dataset)")
    for name in ("PROJ_LORA_DIM", "RES_LORA_DIM"):
        if node[name] < 1:
            raise ValueError(f"TRAINER.MMRLPP.{name}={node[name]} must be >= 1 (published: PROJ_LORA_DIM 64, "
                             "RES_LORA_DIM 4)")


def check_epochs_and_batches(cfg: CN, training: bool) -> None:
    """Reject batch sizes below 1 and, for a training run, OPTIM.MAX_EPOCH below 1 (no model would be saved)."""
    if training and cfg.OPTIM.MAX_EPOCH < 1:
        raise ValueError(f"OPTIM.MAX_EPOCH={cfg.OPTIM.MAX_EPOCH} must be >= 1: a run of no epoch saves no model")
    for key, value in (
        ("DATALOADER.TRAIN_X.BATCH_SIZE", cfg.DATALOADER.TRAIN_X.BATCH_SIZE),
        ("DATALOADER.TEST.BATCH_SIZE", cfg.DATALOADER.TEST.BATCH_SIZE),
    ):
        if value < 1:
            raise ValueError(f"{key}={value} must be >= 1 (images per batch)")


def check_input_cfg(cfg: CN) -> None:
    """Reject an `INPUT.SIZE` that is not a pair of positive integers, naming the key and the expected form."""
    size = cfg.INPUT.SIZE
    valid = len(size) == 2 and all(isinstance(side, int) and not isinstance(side, bool) and side > 0 for side in size)
    if not valid:
        raise ValueError(
            f"INPUT.SIZE={size!r} is not an image size: expected two positive integers (height, width), "
            'e.g. INPUT.SIZE "(224, 224)"'
        )
