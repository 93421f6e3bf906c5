"""`python -m mopd.study run|plan|status|step`: a whole comparison as one command, and the protocol scripts' steps.

    python -m mopd.study run --methods mopd coop cocoop kgcoop --protocols base2new [--datasets ...]
        [--seeds 1 2 3] [--executor local|slurm|debug] [config overrides...]
    python -m mopd.study plan ...            the jobs and their train.py commands; nothing runs
    python -m mopd.study status [OUTPUT]     done / running / failed / pending, errors, time left

Config overrides (KEY VALUE ...) start at the first dotted upper-case key (MODEL.BACKBONE.NAME) or after `--`.
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import shlex
import sys
from collections.abc import Sequence

from mopd.files.repository import REPO_ROOT
from mopd.runs.folder import ALLOW_FLAG
from mopd.study.jobs import Job, Selection, plan_jobs
from mopd.study.launch import SLURM_CONFIG_DEFAULT, SLURM_CONFIG_ENV, build_executor, run_jobs
from mopd.study.runner import run_step
from mopd.study.settings import METHODS, SEEDS, SHOTS, check_protocol, get_method
from mopd.study.state import add_to_study
from mopd.study.steps import SCRIPT_STEPS, Scope

logger = logging.getLogger(__name__)

EXIT_FAILED = 1  # some job or step failed
EXIT_USAGE = 2  # a mistake in the command line
EXIT_INTERRUPTED = 130
_CONFIG_KEY = re.compile(r"^[A-Z][A-Z0-9_]*(\.[A-Z0-9_]+)+$")


def split_argv(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """(options, config overrides): overrides start after `--` or at the first dotted upper-case key."""
    argv = list(argv)
    if "--" in argv:
        cut = argv.index("--")
        return argv[:cut], argv[cut + 1:]
    cut = next((i for i, word in enumerate(argv) if _CONFIG_KEY.match(word)), len(argv))
    return argv[:cut], argv[cut:]


def _default_root(variable: str, folder: str) -> str:
    return os.environ.get(variable) or os.path.join(REPO_ROOT, folder)


def _add_locations(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default=_default_root("DATA", "data"), help="datasets root (default: $DATA or ./data)")
    parser.add_argument("--output", default=_default_root("OUTPUT", "output"),
                        help="output root (default: $OUTPUT or ./output)")
    parser.add_argument("--cfg", default="", help="one config of the method for every dataset and shot count "
                        "(the scripts' CFG), instead of its published setting")


def _add_selection(parser: argparse.ArgumentParser) -> None:
    _add_locations(parser)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), help="default: all")
    parser.add_argument("--protocols", nargs="+", default=["base2new"], help="default: base2new")
    parser.add_argument("--datasets", nargs="+", help="default: each protocol's datasets")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS), help="default: 1 2 3")
    parser.add_argument("--shots", nargs="+", type=int, help="default: 16; few_shot: 1 2 4 8 16")
    _add_allow_flag(parser)


def _add_executors(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--executor", choices=("local", "slurm", "debug"), default="local")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads per job (default: the CPUs shared evenly between local slots; "
                        "SLURM's --cpus-per-job)")
    local = parser.add_argument_group("local executor")
    local.add_argument("--gpus", help="GPUs to use, e.g. 0,1,2,3, or 'none' (default: all visible)")
    local.add_argument("--jobs-per-gpu", type=int, default=1, help="jobs sharing one GPU (default 1)")
    local.add_argument("--jobs", type=int, default=1, help="jobs at once without GPUs (default 1)")
    slurm = parser.add_argument_group("slurm executor (defaults from --slurm-config)")
    slurm.add_argument("--slurm-config", help=f"site defaults, YAML (default: ${SLURM_CONFIG_ENV} or "
                       f"{SLURM_CONFIG_DEFAULT} when it exists)")
    slurm.add_argument("--partition")
    slurm.add_argument("--account")
    slurm.add_argument("--qos")
    slurm.add_argument("--time", type=int, help="minutes per job (default 1440); a job that reaches it is "
                       "requeued and resumes from its checkpoint")
    slurm.add_argument("--gpus-per-job", type=int, help="default 1")
    slurm.add_argument("--cpus-per-job", type=int)
    slurm.add_argument("--mem", help="memory per job, e.g. 32G")
    slurm.add_argument("--array-parallelism", type=int, help="array jobs running at once (default 256)")
    slurm.add_argument("--no-wait", action="store_true", help="submit and return; follow with `status`")
    parser.add_argument("--poll", type=float, help="seconds between checks for ended jobs (local 0.5, slurm 10)")


def _add_allow_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(ALLOW_FLAG, action="store_true",
                        help="resume (or accept as finished) trainings whose recorded settings differ (train.py's flag)")


def _step_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "step", help="one step of a protocol script (what scripts/<method>/<step>.sh runs)",
        description="Run one protocol step unless its finished run is there: "
        + ", ".join(SCRIPT_STEPS) + ". Arguments after the step's own are config overrides (KEY VALUE ...).",
    )
    _add_locations(parser)
    parser.add_argument("--shots", type=int, default=SHOTS, help="shots per class (default 16; the scripts' SHOTS)")
    parser.add_argument("--prog", default="", help="the script's name, for its usage line")
    _add_allow_flag(parser)
    parser.add_argument("method")
    parser.add_argument("step", choices=list(SCRIPT_STEPS))
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the step's arguments, then config overrides")


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(prog="python -m mopd.study", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    subparsers = parser.add_subparsers(dest="command", required=True)
    run = subparsers.add_parser("run", help="run every job that is not done, then print the results tables")
    _add_selection(run)
    _add_executors(run)
    plan = subparsers.add_parser("plan", help="list the jobs and their train.py commands; nothing runs")
    _add_selection(plan)
    status = subparsers.add_parser("status", help="done / running / failed / pending jobs of a study")
    status.add_argument("output", nargs="?", default=_default_root("OUTPUT", "output"), metavar="OUTPUT")
    status.add_argument("--verbose", action="store_true", help="also list every job")
    _step_parser(subparsers)
    return parser


def _selection(args: argparse.Namespace, overrides: Sequence[str]) -> Selection:
    for protocol in args.protocols:
        check_protocol(protocol)
    return Selection(
        methods=tuple(dict.fromkeys(args.methods)), protocols=tuple(dict.fromkeys(args.protocols)),
        seeds=tuple(dict.fromkeys(args.seeds)), data=os.path.abspath(args.data), output=os.path.abspath(args.output),
        datasets=tuple(dict.fromkeys(args.datasets)) if args.datasets else None,
        shots=tuple(dict.fromkeys(args.shots)) if args.shots else None, cfg=args.cfg, overrides=tuple(overrides),
        allow_settings_change=args.allow_settings_change,
    )


def _plan(jobs: Sequence[Job]) -> int:
    for job in jobs:
        print(f"{'done' if job.done() else 'to run'}: {job.id}")
        for step in job.steps:
            print("    python train.py " + shlex.join(step.train_py_args(planned=True)))
    print(f"{len(jobs)} jobs, {sum(not job.done() for job in jobs)} to run")
    return 0


def _run(args: argparse.Namespace, jobs: Sequence[Job]) -> int:
    executor = build_executor(args)
    add_to_study(args.output, jobs, executor.parallelism)
    return run_jobs(executor, jobs, args)


def _status(args: argparse.Namespace) -> int:
    from mopd.study.state import study_file
    from mopd.study.status import render_status, study_status

    output = os.path.abspath(args.output)
    if not os.path.isfile(study_file(output)):
        print(f"error: no study in {args.output}: {study_file(args.output)} is written by "
              "`python -m mopd.study run`", file=sys.stderr)
        return EXIT_USAGE
    status = study_status(output)
    sys.stdout.write(render_status(args.output, status, args.verbose))
    return EXIT_FAILED if status.damaged or any(s.state == "failed" for s in status.jobs) else 0


def _run_script_step(args: argparse.Namespace) -> int:
    spec = SCRIPT_STEPS[args.step]
    positional = spec.usage.split()
    if len(args.args) < len(positional):
        prog = args.prog or f"python -m mopd.study step {args.method} {args.step}"
        print(f"error: usage: {prog} {spec.usage} [config overrides...]", file=sys.stderr)
        return EXIT_USAGE
    values, overrides = args.args[: len(positional)], args.args[len(positional):]
    try:
        seed = int(values[-1])
    except ValueError:
        print(f"error: SEED must be a whole number, got {values[-1]!r}", file=sys.stderr)
        return EXIT_USAGE
    scope = Scope(get_method(args.method), os.path.abspath(args.data), os.path.abspath(args.output), args.cfg,
                  tuple(overrides), args.allow_settings_change)
    return run_step(spec.build(scope, *values[:-1], seed, args.shots)).status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    options, overrides = (argv, []) if argv[:1] == ["step"] else split_argv(argv)
    args = build_parser().parse_args(options)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    try:
        if args.command == "step":
            return _run_script_step(args)
        if args.command == "status":
            return _status(args)
        jobs = plan_jobs(_selection(args, overrides))
        return _plan(jobs) if args.command == "plan" else _run(args, jobs)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted; run the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
