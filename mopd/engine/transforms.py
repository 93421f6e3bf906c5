"""`build_transform`: Dassl's train/test image pipelines, selected by name from INPUT.TRANSFORMS."""
from __future__ import annotations

import logging
from collections.abc import Sequence

import torchvision.transforms as T
from torchvision.transforms import InterpolationMode
from yacs.config import CfgNode

logger = logging.getLogger(__name__)

INTERPOLATION_MODES = {
    "bilinear": InterpolationMode.BILINEAR,
    "bicubic": InterpolationMode.BICUBIC,
    "nearest": InterpolationMode.NEAREST,
}

# Names this runtime implements. "center_crop" is accepted for Dassl compatibility: test images are
# always resized and centre-cropped, and Dassl's training pipeline ignores it.
AVAI_CHOICES = (
    "random_flip",
    "random_resized_crop",
    "random_crop",
    "center_crop",
    "normalize",
    "colorjitter",
    "randomgrayscale",
    "gaussian_blur",
)

# Dassl transforms not reimplemented here; naming one gives a specific error.
_DASSL_ONLY_CHOICES = (
    "instance_norm",
    "random_translation",
    "cutout",
    "imagenet_policy",
    "cifar10_policy",
    "svhn_policy",
    "randaugment",
    "randaugment_fixmatch",
    "randaugment2",
    "gaussian_noise",
)


def _check_choices(choices: Sequence[str]) -> None:
    for choice in choices:
        if choice in _DASSL_ONLY_CHOICES:
            raise ValueError(
                f'INPUT.TRANSFORMS entry "{choice}" exists in Dassl but not in the built-in runtime '
                f"(which supports {list(AVAI_CHOICES)}); install Dassl.pytorch or remove it"
            )
        if choice not in AVAI_CHOICES:
            raise ValueError(f'Unknown INPUT.TRANSFORMS entry "{choice}"; valid names: {list(AVAI_CHOICES)}')


def _interpolation(cfg: CfgNode) -> InterpolationMode:
    name = cfg.INPUT.INTERPOLATION
    if name not in INTERPOLATION_MODES:
        raise ValueError(f"INPUT.INTERPOLATION must be one of {list(INTERPOLATION_MODES)}, got {name!r}")
    return INTERPOLATION_MODES[name]


def _build_train(cfg: CfgNode, choices: Sequence[str], normalize: T.Normalize) -> T.Compose:
    interp = _interpolation(cfg)
    size = tuple(cfg.INPUT.SIZE)
    steps: list = []
    logger.info("Building transform_train")
    if "random_crop" not in choices and "random_resized_crop" not in choices:
        logger.info("+ resize to %dx%d", *size)
        steps.append(T.Resize(size, interpolation=interp))
    if "random_crop" in choices:
        logger.info("+ random crop (padding = %s)", cfg.INPUT.CROP_PADDING)
        steps.append(T.RandomCrop(size, padding=cfg.INPUT.CROP_PADDING))
    if "random_resized_crop" in choices:
        logger.info("+ random resized crop (size=%s, scale=%s)", size, tuple(cfg.INPUT.RRCROP_SCALE))
        steps.append(T.RandomResizedCrop(size, scale=tuple(cfg.INPUT.RRCROP_SCALE), interpolation=interp))
    if "random_flip" in choices:
        logger.info("+ random flip")
        steps.append(T.RandomHorizontalFlip())
    if "colorjitter" in choices:
        inp = cfg.INPUT
        logger.info("+ color jitter (b=%s, c=%s, s=%s, h=%s)", inp.COLORJITTER_B, inp.COLORJITTER_C,
                    inp.COLORJITTER_S, inp.COLORJITTER_H)
        steps.append(T.ColorJitter(inp.COLORJITTER_B, inp.COLORJITTER_C, inp.COLORJITTER_S, inp.COLORJITTER_H))
    if "randomgrayscale" in choices:
        logger.info("+ random gray scale")
        steps.append(T.RandomGrayscale(p=cfg.INPUT.RGS_P))
    if "gaussian_blur" in choices:
        logger.info("+ gaussian blur (kernel=%s)", cfg.INPUT.GB_K)
        steps.append(T.RandomApply([T.GaussianBlur(cfg.INPUT.GB_K)], p=cfg.INPUT.GB_P))
    logger.info("+ to torch tensor of range [0, 1]")
    steps.append(T.ToTensor())
    if "normalize" in choices:
        logger.info("+ normalization (mean=%s, std=%s)", cfg.INPUT.PIXEL_MEAN, cfg.INPUT.PIXEL_STD)
        steps.append(normalize)
    return T.Compose(steps)


def _build_test(cfg: CfgNode, choices: Sequence[str], normalize: T.Normalize) -> T.Compose:
    size = tuple(cfg.INPUT.SIZE)
    logger.info("Building transform_test")
    logger.info("+ resize the smaller edge to %d, %dx%d center crop", max(size), *size)
    steps: list = [
        T.Resize(max(size), interpolation=_interpolation(cfg)),
        T.CenterCrop(size),
        T.ToTensor(),
    ]
    if "normalize" in choices:
        logger.info("+ normalization (mean=%s, std=%s)", cfg.INPUT.PIXEL_MEAN, cfg.INPUT.PIXEL_STD)
        steps.append(normalize)
    return T.Compose(steps)


def build_transform(cfg: CfgNode, is_train: bool = True, choices: Sequence[str] | None = None) -> T.Compose | None:
    """Build the train (augmenting) or test (resize + centre crop) pipeline, as Dassl does.

    Args:
        cfg: config; reads the INPUT node.
        is_train: training pipeline if True, else test pipeline.
        choices: transform names overriding INPUT.TRANSFORMS.

    Returns:
        A torchvision Compose, or None when INPUT.NO_TRANSFORM.
    """
    if cfg.INPUT.NO_TRANSFORM:
        logger.info("Note: no transform is applied!")
        return None
    choices = tuple(cfg.INPUT.TRANSFORMS if choices is None else choices)
    _check_choices(choices)
    normalize = T.Normalize(mean=cfg.INPUT.PIXEL_MEAN, std=cfg.INPUT.PIXEL_STD)
    return _build_train(cfg, choices, normalize) if is_train else _build_test(cfg, choices, normalize)
