"""Image features of an evaluation split: read from the feature store, or encoded once and stored there."""
from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import BatchSampler, SequentialSampler
from tqdm import tqdm
from yacs.config import CfgNode as CN

from mopd.clip.precision import PrecisionPolicy
from mopd.feature_cache.file_format import dtype_name
from mopd.feature_cache.image_digest import IMAGE_CHECKS, ImageCheck, SplitImages
from mopd.feature_cache.key import FeatureKey, device_description, module_weights_digest, transform_description
from mopd.feature_cache.store import FeatureStore
from mopd.files.repository import default_output_root

logger = logging.getLogger(__name__)

# The checkout holding this package (pip install -e .): its output/ is the scripts' $OUTPUT when unset.
FOLDER_NAME = "feature_cache"

Encoder = Callable[[torch.Tensor], torch.Tensor]  # images (B, 3, H, W) on the device -> features (B, D)


@dataclass(frozen=True)
class RunSettings:
    """The key fields that one run keeps for every split it evaluates."""

    dataset: str
    subsample: str
    backbone: str
    precision: str
    input_size: tuple[int, int]
    interpolation: str
    device: str


class EvalFeatureCache:
    """The evaluation features of one run's frozen image encoder, split by split.

    The encoder's weights are digested once, at the first use: every method keeps it frozen.
    `image_check` says how the images' digest is found (`mopd.feature_cache.image_digest`).
    """

    def __init__(self, store: FeatureStore, image_encoder: nn.Module, settings: RunSettings,
                 device: torch.device, image_check: ImageCheck = "stat") -> None:
        self.store = store
        self.image_encoder = image_encoder
        self.settings = settings
        self.device = device
        self.image_check = image_check
        self._weights_digest = ""

    def key_of(self, split: str, loader: Any) -> FeatureKey:
        """The key of the loader's split: its images, test transform and batch size, and this run's settings."""
        return self._key(split, loader, self.store.image_digests.digest(image_paths(loader), self.image_check))

    def _key(self, split: str, loader: Any, images: SplitImages) -> FeatureKey:
        if not self._weights_digest:
            self._weights_digest = module_weights_digest(self.image_encoder)
        return FeatureKey(
            **asdict(self.settings),
            split=split,
            num_images=len(loader.dataset.data_source),
            images_digest=images.images_digest,
            weights_digest=self._weights_digest,
            transform=transform_description(loader.dataset.transform),
            batch_size=loader.batch_size,
            torch_version=torch.__version__,
        )

    def split_features(self, split: str, loader: Any, encode: Encoder) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, D) features and (N,) labels of the loader's split, in split order, on the CPU.

        On a hit no image is decoded and the loader is not started; on a miss the loader's batches
        go through `encode` (exactly as an uncached evaluation sends them) and the result is stored.
        A digest of the images hashed now is recorded once the features are there.
        """
        paths = image_paths(loader)
        images = self.store.image_digests.digest(paths, self.image_check)
        key = self._key(split, loader, images)
        features, hit = self.store.load_or_compute(key, lambda: encode_split(loader, encode, self.device), paths)
        self.store.image_digests.record(images)
        source = "read from" if hit else "computed and stored in"
        logger.info("Image features of the %s split (%d x %d, %s) %s the feature cache: %s", split,
                    *features.shape, dtype_name(features.dtype), source, self.store.path_of(key))
        labels = torch.tensor([item.label for item in loader.dataset.data_source])
        return features, labels


def image_paths(loader: Any) -> list[str]:
    """The paths of the loader's images, in split order."""
    return [item.impath for item in loader.dataset.data_source]


def split_order_problem(loader: Any) -> str:
    """Why `loader` may not yield its split in order, one sample after the other; "" when it does.

    The cache stores a split's features in split order and evaluates them in the loader's batches,
    so it needs what Dassl's test loaders are by default (DATALOADER.TEST.SAMPLER): a
    SequentialSampler over the whole split, batched without dropping the last batch. The rows are
    then placed by position, which needs no per-sample "index" in the batch (Dassl before 0.6.3,
    the Dassl.ProGrad.pytorch fork of KgCoOp and ProGrad among them, yields none).
    """
    sampler, batches = loader.sampler, loader.batch_sampler
    if not isinstance(sampler, SequentialSampler):
        return f"its sampler is {type(sampler).__name__}, not SequentialSampler (DATALOADER.TEST.SAMPLER)"
    if type(batches) is not BatchSampler or batches.sampler is not sampler or batches.drop_last:
        return f"its batches come from {type(batches).__name__}, not a BatchSampler keeping every sample in order"
    if len(sampler) != len(loader.dataset):
        return f"its sampler covers {len(sampler)} of the split's {len(loader.dataset)} samples"
    return ""


def encode_split(loader: Any, encode: Encoder, device: torch.device) -> torch.Tensor:
    """`encode` over every batch of `loader` (no `split_order_problem`): (N, D) in split order, on the CPU."""
    problem = split_order_problem(loader)
    assert not problem, problem
    rows = len(loader.dataset)
    features: torch.Tensor | None = None
    filled = 0
    for batch in tqdm(loader, disable=None):
        batch_features = encode(batch["img"].to(device)).cpu()
        if features is None:
            features = batch_features.new_empty((rows, batch_features.shape[1]))
        features[filled:filled + batch_features.shape[0]] = batch_features
        filled += batch_features.shape[0]
    assert features is not None and filled == rows, (filled, rows)
    return features


def encode_images(model: nn.Module, precision: PrecisionPolicy, images: torch.Tensor) -> torch.Tensor:
    """(B, D) features of test images under the run's precision, not normalised (`PromptedCLIP.image_features`).

    The cache holds them so: every evaluation normalises them as `encode_image` does, and the linear
    probe reads them as CoOp's lpclip does.
    """
    with torch.no_grad(), precision.autocast():
        return model.image_features(images)


def precision_label(precision: PrecisionPolicy) -> str:
    """fp16, fp32, or amp-<autocast dtype>: what the features' numerics depend on."""
    return precision.prec if precision.prec != "amp" else f"amp-{dtype_name(precision.autocast_dtype)}"


def default_feature_cache_dir() -> str:
    """`$OUTPUT/feature_cache`; $OUTPUT unset: the checkout's output/, as in the scripts."""
    return os.path.join(default_output_root(), FOLDER_NAME)


def feature_cache_dir(cfg: CN) -> str:
    """TEST.FEATURE_CACHE.DIR, or the default folder when it is empty."""
    directory = cfg.TEST.FEATURE_CACHE.DIR
    return os.path.abspath(os.path.expanduser(directory)) if directory else default_feature_cache_dir()


def check_feature_cache_dir(cfg: CN) -> None:
    """With the cache on, reject a folder that cannot be created or written, or an unknown IMAGE_CHECK, before anything is built."""
    if not cfg.TEST.FEATURE_CACHE.ENABLED:
        return
    if cfg.TEST.FEATURE_CACHE.IMAGE_CHECK not in IMAGE_CHECKS:
        raise ValueError(f"TEST.FEATURE_CACHE.IMAGE_CHECK is {cfg.TEST.FEATURE_CACHE.IMAGE_CHECK!r}; choose one of "
                         f"{', '.join(IMAGE_CHECKS)} (content: hash every image at every evaluation)")
    directory = feature_cache_dir(cfg)
    fix = "set TEST.FEATURE_CACHE.DIR to a writable folder, or TEST.FEATURE_CACHE.ENABLED False"
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise NotADirectoryError(f"the feature cache folder {directory!r} is a file; {fix}")
    existing = directory
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.access(existing, os.W_OK):
        raise PermissionError(f"cannot write the feature cache folder {directory!r} ({existing!r} is read-only); {fix}")


def build_eval_feature_cache(cfg: CN, image_encoder: nn.Module, precision: PrecisionPolicy,
                             device: torch.device) -> EvalFeatureCache:
    """The cache of a run: its folder, dataset, backbone, precision, input settings and device from `cfg`."""
    settings = RunSettings(
        dataset=cfg.DATASET.NAME,
        subsample=cfg.DATASET.SUBSAMPLE_CLASSES,
        backbone=cfg.MODEL.BACKBONE.NAME,
        precision=precision_label(precision),
        input_size=tuple(cfg.INPUT.SIZE),
        interpolation=cfg.INPUT.INTERPOLATION,
        device=device_description(device),
    )
    return EvalFeatureCache(FeatureStore(feature_cache_dir(cfg)), image_encoder, settings, device,
                            cfg.TEST.FEATURE_CACHE.IMAGE_CHECK)
