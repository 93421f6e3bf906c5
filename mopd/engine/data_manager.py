"""`DataManager`: dataset, transforms and loaders built from the config, as in Dassl."""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torchvision.transforms as T
from PIL import Image
from torch.utils.data import DataLoader, Dataset, RandomSampler, Sampler, SequentialSampler
from yacs.config import CfgNode

from mopd.engine.datasets import DATASET_REGISTRY, DatasetBase, Datum
from mopd.engine.transforms import INTERPOLATION_MODES, build_transform

logger = logging.getLogger(__name__)

AVAI_SAMPLERS = ("RandomSampler", "SequentialSampler")


def read_image(path: str) -> Image.Image:
    """Read an image as RGB; errors name the file."""
    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except FileNotFoundError as err:
        raise FileNotFoundError(f'Image file not found: "{path}" (was it moved or deleted?)') from err
    except OSError as err:
        raise OSError(f'Cannot read image "{path}": {err}; the file is corrupt or not an image') from err


class DatasetWrapper(Dataset):
    """Torch dataset over a list of `Datum`: yields dicts with img, label, domain, impath, index."""

    def __init__(
        self,
        cfg: CfgNode,
        data_source: Sequence[Datum],
        transform: Callable | Sequence[Callable] | None = None,
        is_train: bool = False,
    ) -> None:
        self.cfg = cfg
        self.data_source = data_source
        self.transform = transform  # one transform, or a list giving keys img, img2, ...
        self.is_train = is_train
        self.k_tfm = cfg.DATALOADER.K_TRANSFORMS if is_train else 1  # K views only when training
        self.return_img0 = cfg.DATALOADER.RETURN_IMG0
        if self.k_tfm > 1 and transform is None:
            raise ValueError(
                f"DATALOADER.K_TRANSFORMS={self.k_tfm} needs a transform, but INPUT.NO_TRANSFORM is set"
            )
        plain = [T.Resize(cfg.INPUT.SIZE, interpolation=INTERPOLATION_MODES[cfg.INPUT.INTERPOLATION]), T.ToTensor()]
        if "normalize" in cfg.INPUT.TRANSFORMS:
            plain.append(T.Normalize(mean=cfg.INPUT.PIXEL_MEAN, std=cfg.INPUT.PIXEL_STD))
        self.to_tensor = T.Compose(plain)  # un-augmented view for "img0"

    def __len__(self) -> int:
        return len(self.data_source)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        """The sample at index `key`, or at `key[0]` augmented from seed `key[1]` (see `SeededSampler`)."""
        if isinstance(key, tuple):
            idx, seed = key
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                return self._sample(idx)
        return self._sample(key)

    def _sample(self, idx: int) -> dict[str, Any]:
        item = self.data_source[idx]
        output: dict[str, Any] = {"label": item.label, "domain": item.domain, "impath": item.impath, "index": idx}
        img0 = read_image(item.impath)
        if self.transform is None:
            output["img"] = img0
        elif isinstance(self.transform, (list, tuple)):
            for i, tfm in enumerate(self.transform):
                output["img" if i == 0 else f"img{i + 1}"] = self._views(tfm, img0)
        else:
            output["img"] = self._views(self.transform, img0)
        if self.return_img0:
            output["img0"] = self.to_tensor(img0)
        return output

    def _views(self, tfm: Callable, img0: Image.Image) -> Any:
        views = [tfm(img0) for _ in range(self.k_tfm)]
        return views[0] if len(views) == 1 else views


class SeededSampler(Sampler):
    """Yields (index, seed) pairs: each training sample is augmented from its own seed.

    The seeds are drawn from the main process's torch RNG when an epoch starts, which the trainers
    reseed from (SEED, epoch). Augmentation then depends neither on DATALOADER.NUM_WORKERS nor on
    the workers' own RNG state, so persistent workers and a resumed run see the same images.
    """

    def __init__(self, sampler: Sampler) -> None:
        self.sampler = sampler

    def __iter__(self):
        base = int(torch.randint(2**62, ()))
        return ((index, base + position) for position, index in enumerate(self.sampler))

    def __len__(self) -> int:
        return len(self.sampler)


def _build_sampler(sampler_type: str, data_source: Sequence[Datum]) -> Sampler:
    if sampler_type == "RandomSampler":
        return RandomSampler(data_source)
    if sampler_type == "SequentialSampler":
        return SequentialSampler(data_source)
    raise ValueError(
        f"Sampler {sampler_type!r} is not available in the built-in runtime; valid: {list(AVAI_SAMPLERS)} "
        "(install Dassl.pytorch for its domain/class samplers)"
    )


def build_data_loader(
    cfg: CfgNode,
    sampler_type: str = "SequentialSampler",
    data_source: Sequence[Datum] | None = None,
    batch_size: int = 64,
    tfm: Callable | Sequence[Callable] | None = None,
    is_train: bool = True,
    dataset_wrapper: type[Dataset] | None = None,
) -> DataLoader:
    """Build a loader; training loaders drop the last partial batch when there is a full one.

    Training loaders seed every sample's augmentation (`SeededSampler`) and keep their workers
    between epochs; with few-shot data an epoch is a handful of batches, and starting the workers
    again every epoch costs as much as the epoch itself.
    """
    if not data_source:
        raise ValueError(f"Cannot build a data loader from an empty data source ({'train' if is_train else 'eval'})")
    wrapper_cls = DatasetWrapper if dataset_wrapper is None else dataset_wrapper
    sampler = _build_sampler(sampler_type, data_source)
    # A custom wrapper with its own __getitem__ expects plain indices (and keeps Dassl's behaviour).
    seeded = is_train and wrapper_cls.__getitem__ is DatasetWrapper.__getitem__
    workers = cfg.DATALOADER.NUM_WORKERS
    return DataLoader(
        wrapper_cls(cfg, data_source, transform=tfm, is_train=is_train),
        batch_size=batch_size,
        sampler=SeededSampler(sampler) if seeded else sampler,
        num_workers=workers,
        drop_last=is_train and len(data_source) >= batch_size,
        pin_memory=torch.cuda.is_available() and cfg.USE_CUDA,
        persistent_workers=seeded and workers > 0,
        # The workers' base seed comes from here, not the global RNG: a new iterator (first epoch,
        # resumed run) and a reused one (persistent workers) then draw the same epoch from it.
        generator=torch.Generator() if seeded else None,
    )


class DataManager:
    """Builds the dataset named by DATASET.NAME, its transforms and its loaders."""

    def __init__(
        self,
        cfg: CfgNode,
        custom_tfm_train: Callable | None = None,
        custom_tfm_test: Callable | None = None,
        dataset_wrapper: type[Dataset] | None = None,
    ) -> None:
        dataset_cls = DATASET_REGISTRY.get(cfg.DATASET.NAME)
        if cfg.VERBOSE:
            logger.info("Loading dataset: %s", cfg.DATASET.NAME)
        dataset: DatasetBase = dataset_cls(cfg)

        if custom_tfm_train is None:
            tfm_train = build_transform(cfg, is_train=True)
        else:
            logger.info("* Using custom transform for training")
            tfm_train = custom_tfm_train
        if custom_tfm_test is None:
            tfm_test = build_transform(cfg, is_train=False)
        else:
            logger.info("* Using custom transform for testing")
            tfm_test = custom_tfm_test

        loader_x = cfg.DATALOADER.TRAIN_X
        self.train_loader_x = build_data_loader(
            cfg, loader_x.SAMPLER, dataset.train_x, loader_x.BATCH_SIZE, tfm_train, True, dataset_wrapper
        )
        self.train_loader_u = None
        if dataset.train_u:
            loader_u = loader_x if cfg.DATALOADER.TRAIN_U.SAME_AS_X else cfg.DATALOADER.TRAIN_U
            self.train_loader_u = build_data_loader(
                cfg, loader_u.SAMPLER, dataset.train_u, loader_u.BATCH_SIZE, tfm_train, True, dataset_wrapper
            )
        test_cfg = cfg.DATALOADER.TEST
        self.val_loader = None
        if dataset.val:
            self.val_loader = build_data_loader(
                cfg, test_cfg.SAMPLER, dataset.val, test_cfg.BATCH_SIZE, tfm_test, False, dataset_wrapper
            )
        self.test_loader = build_data_loader(
            cfg, test_cfg.SAMPLER, dataset.test, test_cfg.BATCH_SIZE, tfm_test, False, dataset_wrapper
        )

        self.dataset = dataset
        self._num_classes = dataset.num_classes
        self._num_source_domains = len(cfg.DATASET.SOURCE_DOMAINS)
        self._lab2cname = dataset.lab2cname
        if cfg.VERBOSE:
            self.show_dataset_summary(cfg)

    @property
    def num_classes(self) -> int:
        """Number of classes (largest train label + 1)."""
        return self._num_classes

    @property
    def num_source_domains(self) -> int:
        """Number of source domains in the config."""
        return self._num_source_domains

    @property
    def lab2cname(self) -> dict[int, str]:
        """Mapping label -> class name."""
        return self._lab2cname

    def show_dataset_summary(self, cfg: CfgNode) -> None:
        """Log the dataset name, domains, class count and split sizes."""
        rows = [("Dataset", cfg.DATASET.NAME)]
        if cfg.DATASET.SOURCE_DOMAINS:
            rows.append(("Source", str(list(cfg.DATASET.SOURCE_DOMAINS))))
        if cfg.DATASET.TARGET_DOMAINS:
            rows.append(("Target", str(list(cfg.DATASET.TARGET_DOMAINS))))
        rows.append(("# classes", f"{self.num_classes:,}"))
        rows.append(("# train_x", f"{len(self.dataset.train_x):,}"))
        if self.dataset.train_u:
            rows.append(("# train_u", f"{len(self.dataset.train_u):,}"))
        if self.dataset.val:
            rows.append(("# val", f"{len(self.dataset.val):,}"))
        rows.append(("# test", f"{len(self.dataset.test):,}"))
        width = max(len(name) for name, _ in rows)
        logger.info("\n".join(f"{name:<{width}}  {value}" for name, value in rows))
