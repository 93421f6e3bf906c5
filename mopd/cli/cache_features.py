"""The `cache-features` command line of `python -m mopd.data`; the work is in `fill_features` and `cache_status`
(imported on use: they load torch, and filling the backend).

    python -m mopd.data cache-features DATASET --root $DATA --config-file CFG.yaml [--split test val train]
        [--subsample base new] [--dir DIR] [KEY VALUE ...]
    python -m mopd.data cache-features --status [--dir DIR]
    python -m mopd.data cache-features --prune [--dir DIR]
"""
from __future__ import annotations

import argparse
import os

from mopd.data.catalog import dataset_names

SPLITS = ("test", "val", "train")  # train and val whole: what the linear probes of a study read
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
    parser.add_argument("--split", nargs="+", choices=SPLITS, default=["test"],
                        help="splits to encode (default: test; a study with linear probes: test val train)")
    parser.add_argument("--subsample", nargs="+", choices=SUBSAMPLES, default=["all"],
                        help="class subsets to encode (base-to-new studies: base new; default: all)")
    parser.add_argument("--dir", default="", help="cache folder (default: TEST.FEATURE_CACHE.DIR, else $OUTPUT/feature_cache)")
    parser.add_argument("--status", action="store_true",
                        help="list what the cache folder holds, its size and which files are obsolete, and exit")
    parser.add_argument("--prune", action="store_true",
                        help="remove the obsolete files (that no evaluation can read any more) and exit")


def run(args: argparse.Namespace) -> int:
    """Fill the cache (`mopd.cli.fill_features.run`), show its status or prune it; the exit code."""
    # argparse hands everything after DATASET to the overrides: take the options back out of them.
    options = argparse.ArgumentParser(prog="cache-features", add_help=False)
    _add_options(options, default_root=args.root)
    _, args.opts = options.parse_known_args(args.opts, namespace=args)
    if args.status or args.prune:
        return _status_or_prune(args)
    from mopd.cli import fill_features

    return fill_features.run(args)


def _status_or_prune(args: argparse.Namespace) -> int:
    """`--status` or `--prune` of the cache folder, after checking that the command line asks for one of them only."""
    if args.status and args.prune:
        raise ValueError("--status and --prune are two commands: give one of them")
    if args.prune and (args.dataset or args.opts):
        extra = " ".join([args.dataset, *args.opts]).strip()
        raise ValueError(f"--prune checks every file of the cache folder and takes no DATASET or overrides "
                         f"(got {extra!r}): drop them, and give the folder with --dir")
    from mopd.cli import cache_status
    from mopd.feature_cache.split_features import default_feature_cache_dir

    directory = os.path.abspath(os.path.expanduser(args.dir)) if args.dir else default_feature_cache_dir()
    return cache_status.show_status(directory) if args.status else cache_status.prune_cache(directory)
