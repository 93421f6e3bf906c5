"""The `cache-features` command line of `python -m mopd.data`; the work is in `fill_features` (imported on use: it
loads torch and the backend).

    python -m mopd.data cache-features DATASET --root $DATA --config-file CFG.yaml [--split test val]
        [--subsample base new] [--dir DIR] [KEY VALUE ...]
    python -m mopd.data cache-features --status [--dir DIR]
"""
from __future__ import annotations

import argparse

from mopd.data.catalog import dataset_names

SPLITS = ("test", "val")
SUBSAMPLES = ("all", "base", "new")


def add_arguments(parser: argparse.ArgumentParser, default_root: str) -> None:
    """The `cache-features` command line: DATASET, options (before or after it), then KEY VALUE overrides."""
    parser.add_argument("dataset", nargs="?", default="",
                        help=f"a catalog name ({', '.join(dataset_names())}) or a registered DATASET.NAME")
    _add_options(parser, default_root)
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides: KEY VALUE ...")


def _add_options(parser: argparse.ArgumentParser, default_root: str) -> None:
    parser.add_argument("--root", default=default_root, help="data root (default: $DATA, else ./data)")
    parser.add_argument("--config-file", action="append", default=[],
                        help="the study's trainer config (backbone, input, test batch size, precision); repeatable")
    parser.add_argument("--split", nargs="+", choices=SPLITS, default=["test"], help="splits to encode (default: test)")
    parser.add_argument("--subsample", nargs="+", choices=SUBSAMPLES, default=["all"],
                        help="class subsets to encode (base-to-new studies: base new; default: all)")
    parser.add_argument("--dir", default="", help="cache folder (default: TEST.FEATURE_CACHE.DIR, else $OUTPUT/feature_cache)")
    parser.add_argument("--status", action="store_true", help="list what the cache folder holds and its size, and exit")


def run(args: argparse.Namespace) -> int:
    """Fill the cache or show its status (`mopd.cli.fill_features.run`); the exit code."""
    from mopd.cli import fill_features

    # argparse hands everything after DATASET to the overrides: take the options back out of them.
    options = argparse.ArgumentParser(prog="cache-features", add_help=False)
    _add_options(options, default_root=args.root)
    _, args.opts = options.parse_known_args(args.opts, namespace=args)
    return fill_features.run(args)
