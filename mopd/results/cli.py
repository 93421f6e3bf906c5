"""`python -m mopd.results OUTPUT_DIR`: print the results tables of the protocol scripts' output tree."""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from mopd.files.atomic import atomic_path
from mopd.results.layout import LAYOUT_HELP, PROTOCOLS
from mopd.results.published import PUBLISHED_FILE, load_published
from mopd.results.render import FORMATS, render
from mopd.results.report import build_report

logger = logging.getLogger(__name__)

EXIT_NO_RUNS = 1
EXIT_USAGE = 2  # argparse's own exit status for bad arguments


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m mopd.results",
        description="Tables (mean ± sample std over seeds, HM, averages over datasets) and plots of the runs "
        f"written by the protocol scripts, laid out as {LAYOUT_HELP}.",
    )
    parser.add_argument("output_dir", metavar="OUTPUT_DIR", help="the scripts' output root ($OUTPUT)")
    parser.add_argument("--format", choices=FORMATS, default="markdown", help="table format (default: markdown)")
    parser.add_argument("--output", metavar="FILE", help="write the tables to FILE (atomically) instead of stdout")
    parser.add_argument(
        "--plot", metavar="FILE.png", help="base-to-new bar plot; few-shot results go to FILE_few_shot.png"
    )
    parser.add_argument("--protocol", choices=PROTOCOLS, help="report only this protocol")
    parser.add_argument(
        "--published", metavar="FILE", nargs="?", const=PUBLISHED_FILE,
        help="put the published base-to-new numbers beside ours and flag cells off by more than "
        "max(1 point, 2 std); FILE defaults to the packaged mopd/results/published.csv",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return the exit status (0 ok, 1 no runs found, 2 bad arguments or OUTPUT_DIR)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    try:
        report = build_report(args.output_dir, args.protocol)
        published = load_published(args.published) if args.published else None
    except (FileNotFoundError, ValueError) as err:
        parser.print_usage(sys.stderr)
        sys.stderr.write(f"{parser.prog}: error: {err}\n")
        return EXIT_USAGE
    if not report.runs and not report.problems:
        scope = f"{args.protocol} runs" if args.protocol else "runs"
        logger.error(
            "No %s found under %s: expected run directories laid out as %s", scope, args.output_dir, LAYOUT_HELP
        )
        return EXIT_NO_RUNS
    text = render(report, args.format, published)
    if args.output:
        with atomic_path(args.output) as tmp, open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        logger.info("Wrote %s", args.output)
    else:
        sys.stdout.write(text)
    if args.plot:
        from mopd.results.plot import write_plots  # matplotlib only when a plot is asked for

        write_plots(report.entries, args.plot)
    return 0
