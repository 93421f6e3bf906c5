"""Command-line plumbing shared by train.py: config assembly, name checks, logging."""
from __future__ import annotations

import argparse
import difflib
import json
import logging
import os
import sys
from typing import Iterable

import yaml
from yacs.config import CfgNode as CN

from mopd.config.checks import check_input_cfg
from mopd.config.defaults import get_cfg
from mopd.config.method_nodes import is_read_by, node_of, readers_of
from mopd.runs.record import flatten_cfg


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


def _read_yaml_mapping(path: str, what: str) -> CN:
    """The KEY: VALUE tree of a YAML config file; a syntax error names the file and its line."""
    try:
        with open(path, encoding="utf-8") as f:
            tree = yaml.safe_load(f)
    except UnicodeDecodeError as err:
        raise ValueError(f"{what} {path} is not a text file (undecodable byte at offset {err.start})") from err
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "an unknown line"
        raise ValueError(f"YAML syntax error in {what} {path} at {where}: {err.problem or err.context}; fix the file") from err
    except yaml.YAMLError as err:
        raise ValueError(f"{what} {path} is not valid YAML ({err}); fix the file") from err
    if tree is None:
        return CN()
    if not isinstance(tree, dict):
        raise ValueError(
            f"{what} {path} holds a YAML {type(tree).__name__}, not a mapping of config keys (e.g. `DATASET:` then "
            "`  NAME: Caltech101`)"
        )
    return CN(tree)


def _check_sections(tree: dict, node: CN, path: str, prefix: str = "") -> None:
    """Raise ValueError where the file gives a plain value to a key that holds a section of keys."""
    for key, value in tree.items():
        default = node.get(key)
        if not isinstance(default, CN):
            continue
        if not isinstance(value, dict):
            raise ValueError(
                f"bad value in {path}: {prefix}{key} is a section of config keys, not a value ({value!r}); "
                f"write `{key}:` followed by indented KEY: VALUE lines"
            )
        _check_sections(value, default, path, f"{prefix}{key}.")


def _merge_file(cfg: CN, path: str, what: str) -> None:
    if not os.path.isfile(path):
        state = "is not a file" if os.path.exists(path) else "does not exist"
        raise FileNotFoundError(f"{what} {path!r} {state} (current directory: {os.getcwd()})")
    tree = _read_yaml_mapping(path, what)
    _check_sections(tree, cfg, path)
    try:
        cfg.merge_from_other_cfg(tree)
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
    check_input_cfg(cfg)
    cfg.freeze()
    return cfg


def unread_settings(cfg: CN) -> list[str]:
    """One line for each key set (to other than its default) under a method node that the run's trainer does not read."""
    defaults = flatten_cfg(get_cfg())
    trainer = cfg.TRAINER.NAME
    lines = []
    for key, value in flatten_cfg(cfg).items():
        if is_read_by(key, trainer) or defaults.get(key) == value:
            continue
        readers = readers_of(key)
        who = (f"only {' and '.join(readers)} reads TRAINER.{node_of(key)}" if readers
               else "no trainer of this repository reads it (a node of Dassl's own trainers)")
        lines.append(f"{key} {json.dumps(value)} has no effect on a {trainer} run: {who}; "
                     "it is left out of the run's settings fingerprint")
    return lines


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
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    if root.handlers:  # the built-in setup_logger installs its own stdout handler
        return
    handler = logging.StreamHandler(sys.stdout)  # Dassl's setup_logger has replaced sys.stdout by its tee
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
