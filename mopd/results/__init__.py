"""Results of the evaluation protocols: Dassl log parsing, mean/std over seeds, HM, tables and plots.

Use `python -m mopd.results OUTPUT_DIR [--published]` (see `mopd.results.cli`), or `build_report`,
`load_published` and `render`.
"""
from mopd.results.aggregate import AVERAGE, Entry, harmonic_mean, sample_std
from mopd.results.completeness import Problem
from mopd.results.layout import PROTOCOLS, Run, find_runs, run_path
from mopd.results.logs import EvalResult, parse_result_blocks, read_run_log
from mopd.results.published import PublishedRow, load_published
from mopd.results.render import render
from mopd.results.report import Report, build_report

__all__ = [
    "AVERAGE",
    "Entry",
    "EvalResult",
    "PROTOCOLS",
    "Problem",
    "PublishedRow",
    "Report",
    "Run",
    "build_report",
    "find_runs",
    "harmonic_mean",
    "load_published",
    "parse_result_blocks",
    "read_run_log",
    "render",
    "run_path",
    "sample_std",
]
