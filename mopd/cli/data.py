"""`python -m mopd.data check|prepare|cache-features`: see which datasets are ready under $DATA, fetch them,
and encode their test images once for a whole study.

    python -m mopd.data check --root $DATA [DATASET ...]
    python -m mopd.data prepare DATASET --root $DATA [--mirror BASE_URL] [--url NAME=URL ...]
    python -m mopd.data cache-features DATASET --root $DATA --config-file CFG.yaml [--subsample base new]
    python -m mopd.data cache-features --status

Exit code 0 when every requested dataset is ready (or cached), 1 otherwise (with the reason on the output).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from mopd.data.catalog import dataset_names, get_entry
from mopd.data.check import check_dataset, content_problems, format_report
from mopd.data.prepare import Transfer, prepare_dataset
from mopd.cli import cache_features

log = logging.getLogger("mopd.data")


def _parse_url_override(text: str) -> tuple[str, str]:
    """Split a --url value NAME=URL."""
    name, sep, url = text.partition("=")
    if not sep or not name or not url:
        raise argparse.ArgumentTypeError(f"--url expects NAME=URL (a catalog file name and its URL), got {text!r}")
    return name, url


def _build_parser() -> argparse.ArgumentParser:
    """The command line: `check` and `prepare` sub-commands."""
    parser = argparse.ArgumentParser(
        prog="python -m mopd.data", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    default_root = os.environ.get("DATA", "./data")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser(
        "check", help="report which datasets are ready, what is missing and what training would refuse"
    )
    check.add_argument("datasets", nargs="*", help=f"dataset names (default: all): {', '.join(dataset_names())}")
    check.add_argument("--root", default=default_root, help="data root (default: $DATA, else ./data)")
    prepare = sub.add_parser("prepare", help="download, verify and extract one dataset into its expected layout")
    prepare.add_argument("dataset", help=f"one of: {', '.join(dataset_names())}")
    prepare.add_argument("--root", default=default_root, help="data root (default: $DATA, else ./data)")
    prepare.add_argument("--mirror", default="", help="base URL serving every file of the dataset by its file name")
    prepare.add_argument("--url", dest="urls", action="append", type=_parse_url_override, default=[],
                         metavar="NAME=URL", help="fetch one file (by catalog file name) from URL; repeatable")
    prepare.add_argument("--keep-archives", action="store_true", help="keep the downloaded archives after extraction")
    prepare.add_argument("--retries", type=int, default=Transfer.retries,
                         help="times an interrupted download is resumed before giving up")
    cache = sub.add_parser("cache-features", help="store the test images' CLIP features for every evaluation of a "
                           "study (see README, evaluation feature cache), or show the cache with --status")
    cache_features.add_arguments(cache, default_root)
    return parser


def _check(root: str, names: list[str]) -> int:
    """Log one report per dataset; 0 when all are ready."""
    all_ready = True
    for name in names or dataset_names():
        missing = check_dataset(root, name)
        problems = content_problems(root, name)
        all_ready = all_ready and not missing and not problems
        log.info("%s", format_report(root, get_entry(name).name, missing, problems))
    return 0 if all_ready else 1


def _run(args: argparse.Namespace) -> int:
    """Run the parsed command; user errors are logged as one message and give exit code 1."""
    try:
        if args.command == "check":
            return _check(args.root, args.datasets)
        if args.command == "cache-features":
            return cache_features.run(args)
        left = prepare_dataset(
            args.root, args.dataset, mirror=args.mirror, urls=dict(args.urls), keep_archives=args.keep_archives,
            transfer=Transfer(retries=args.retries),
        )
        return 1 if left else 0
    except KeyError as err:
        log.error("error: %s", err.args[0])
    except (ValueError, OSError) as err:
        log.error("error: %s", err)
    return 1


def main(argv: list[str] | None = None) -> int:
    """Run the command line with the package's log records on stdout; returns the exit code."""
    args = _build_parser().parse_args(argv)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    package_logger = logging.getLogger("mopd")
    previous_level = package_logger.level
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.INFO)
    try:
        return _run(args)
    finally:
        package_logger.removeHandler(handler)
        package_logger.setLevel(previous_level)

