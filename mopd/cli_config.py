"""Command-line plumbing shared by train.py: config assembly, name checks, logging."""
from __future__ import annotations

import argparse
import difflib
import logging
import os
import sys
from typing import Iterable

from yacs.config import CfgNode as CN

from mopd.config import get_cfg


def _flat_keys(node: CN, prefix: str = "") -> list[str]:
    keys = []
    for key, value in node.items():
        full = f"{prefix}{key}"
        keys.extend(_flat_keys(value, full + ".") if isinstance(value, CN) else [full])
    return keys


def _unknown_key_message(cfg: CN, key: str, source: str) -> str:
    keys = _flat_keys(cfg)
    near = difflib.get_close_matches(key, keys, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(near)}?" if near else ""
    parent = key.rsplit(".", 1)[0] if "." in key else ""
    siblings = [k for k in keys if parent and k.startswith(parent + ".") and "." not in k[len(parent) + 1 :]]
    listing = f" Keys under {parent}: {', '.join(siblings)}." if siblings else ""
    return f"unknown config key {key} in {source}.{hint}{listing}"


def _merge_file(cfg: CN, path: str, what: str) -> None:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what} {path!r} does not exist (current directory: {os.getcwd()})")
    try:
        cfg.merge_from_file(path)
    except KeyError as err:
        key = str(err.args[0]).split(":")[-1].strip() if err.args else "?"
        raise KeyError(_unknown_key_message(cfg, key, path)) from err
    except ValueError as err:
        raise ValueError(f"bad value in {path}: {err}") from err


def _merge_opts(cfg: CN, opts: list[str]) -> None:
    if len(opts) % 2:
        raise ValueError(f"config overrides must be KEY VALUE pairs, got an odd list: {opts}")
    valid = set(_flat_keys(cfg))
    for key in opts[0::2]:
        if key not in valid:
            raise KeyError(_unknown_key_message(cfg, key, "the command line"))
    try:
        cfg.merge_from_list(opts)
    except ValueError as err:
        raise ValueError(f"bad value in the command-line overrides: {err}") from err


def _apply_args(cfg: CN, args: argparse.Namespace) -> None:
    if args.root:
        cfg.DATASET.ROOT = args.root
    if args.output_dir:
        cfg.OUTPUT_DIR = args.output_dir
    if args.resume:
        cfg.RESUME = args.resume
    if args.seed is not None:
        cfg.SEED = args.seed
    if args.source_domains:
        cfg.DATASET.SOURCE_DOMAINS = args.source_domains
    if args.target_domains:
        cfg.DATASET.TARGET_DOMAINS = args.target_domains
    if args.transforms:
        cfg.INPUT.TRANSFORMS = args.transforms
    if args.trainer:
        cfg.TRAINER.NAME = args.trainer
    if args.backbone:
        cfg.MODEL.BACKBONE.NAME = args.backbone
    if args.head:
        cfg.MODEL.HEAD.NAME = args.head


def build_cfg(args: argparse.Namespace) -> CN:
    """Defaults < dataset config < trainer config(s) < command-line flags < KEY VALUE overrides."""
    cfg = get_cfg()
    if args.dataset_config_file:
        _merge_file(cfg, args.dataset_config_file, "dataset config file")
    for path in args.config_file:
        _merge_file(cfg, path, "config file")
    _apply_args(cfg, args)
    _merge_opts(cfg, args.opts or [])
    cfg.freeze()
    return cfg


def check_registered(name: str, registry: object, what: str, flag: str) -> None:
    """Raise a KeyError naming the valid choices when `name` is not registered."""
    valid = sorted(_registry_names(registry))
    if name in valid:
        return
    near = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
    hint = f" Did you mean {near[0]!r}?" if near else ""
    shown = repr(name) if name else "nothing"
    raise KeyError(f"unknown {what} {shown} (set it with {flag}).{hint} Registered: {', '.join(valid)}")


def _registry_names(registry: object) -> Iterable[str]:
    return registry._obj_map.keys()  # both Dassl's and the built-in Registry keep this mapping


def configure_logging() -> None:
    """Route `logging` records through stdout (teed to log.txt) unless the backend's logger already does."""
    logging.disable(logging.NOTSET)  # a dependency of Dassl calls logging.disable(WARNING) on import
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    if root.handlers:  # the built-in setup_logger installs its own stdout handler
        return
    handler = logging.StreamHandler(sys.stdout)  # Dassl's setup_logger has replaced sys.stdout by its tee
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
