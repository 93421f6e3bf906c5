"""Filling the evaluation feature cache ahead of a study (`cache-features DATASET`).

Filling builds exactly what a trainer's evaluation builds (the dataset's test loader, CLIP in the
run's precision on the run's device) and stores the same features; the study's evaluations then
read them. The settings come from the trainer config the study uses (`--config-file`): backbone,
input size and transform, test batch size, TRAINER.COOP.PREC.
"""
from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

import torch
from torch import nn
from yacs.config import CfgNode as CN

from mopd.backend import DATASET_REGISTRY, DataManager
from mopd.cli.checkout import register_checkout_datasets
from mopd.cli.config import build_cfg
from mopd.clip.loading import build_clip
from mopd.data.catalog import dataset_names, get_entry
from mopd.feature_cache.evaluation import evaluation_loader
from mopd.feature_cache.split_features import build_eval_feature_cache, encode_images, split_order_problem
from mopd.feature_cache.split_rows import loader_like
from mopd.clip.precision import PrecisionPolicy
from mopd.prompts.prompted_clip import PromptedCLIP

logger = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    """Fill the cache for the requested splits (see `mopd.cli.cache_features`); 0 on success."""
    if not args.dataset:
        raise ValueError("cache-features needs a DATASET (or --status, or --prune)")
    register_checkout_datasets()
    fill_feature_cache([_build_cfg(args, subsample) for subsample in args.subsample], args.split)
    return 0


def _build_cfg(args: argparse.Namespace, subsample: str) -> CN:
    opts = ["DATASET.NAME", _reader_name(args.dataset), "DATASET.SUBSAMPLE_CLASSES", subsample]
    if args.dir:
        opts += ["TEST.FEATURE_CACHE.DIR", args.dir]
    namespace = argparse.Namespace(
        dataset_config_file="", config_file=args.config_file, root=args.root, output_dir="", resume="", seed=None,
        source_domains=None, target_domains=None, transforms=None, trainer="", backbone="", head="",
        opts=opts + list(args.opts),
    )
    return build_cfg(namespace)


def _reader_name(name: str) -> str:
    registered = sorted(DATASET_REGISTRY._obj_map)
    if name in registered:
        return name
    try:
        return get_entry(name).reader
    except KeyError as err:
        raise KeyError(f"unknown dataset {name!r}: give a catalog name ({', '.join(dataset_names())}) "
                       f"or a registered DATASET.NAME ({', '.join(registered)})") from err


def fill_feature_cache(cfgs: Sequence[CN], splits: Sequence[str]) -> None:
    """Store the features of `splits` for each config (one per class subset), as the trainers' evaluation computes them.

    The configs differ only in DATASET.SUBSAMPLE_CLASSES: CLIP is built once, from the first.
    """
    first = cfgs[0]
    device = torch.device("cuda" if torch.cuda.is_available() and first.USE_CUDA else "cpu")
    precision = PrecisionPolicy(first.TRAINER.COOP.PREC, device, first.TRAINER.COOP.AMP_DTYPE)
    model = PromptedCLIP(precision.prepare(build_clip(first)), nn.Identity()).to(device).eval()
    for cfg in cfgs:
        data = DataManager(cfg)
        cache = build_eval_feature_cache(cfg, model.image_encoder, precision, device)
        for split in dict.fromkeys(splits):
            if split == "train":  # as the linear probes read it: with the test loader's transform and batches
                name, loader = split, loader_like(data.test_loader, data.dataset.train_x)
            else:
                name, loader = evaluation_loader(split, data.val_loader, data.test_loader)
            if name != split:
                logger.info("%s has no val split: its evaluations use the test split", cfg.DATASET.NAME)
            problem = split_order_problem(loader)
            if problem:
                raise ValueError(f"cannot cache the {name} split of {cfg.DATASET.NAME}: {problem}; evaluations "
                                 "read the cache only with DATALOADER.TEST.SAMPLER SequentialSampler (the default)")
            cache.split_features(name, loader, lambda images: encode_images(model, precision, images))
