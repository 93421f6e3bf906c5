"""`run`: build the chosen executor, run every job that is not done, report each as it ends, then the
results tables and a summary of what failed."""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import shutil
import sys
from collections.abc import Sequence

import yaml

from mopd.study.executors import DebugExecutor, Ended, LocalExecutor, SlurmExecutor, SlurmOptions, local_slots
from mopd.study.jobs import Job
from mopd.study.state import rewrite_damaged_record
from mopd.study.status import format_seconds

logger = logging.getLogger(__name__)

SLURM_CONFIG_ENV = "MOPD_SLURM_CONFIG"
SLURM_CONFIG_DEFAULT = os.path.join("~", ".config", "mopd", "slurm.yaml")
_SLURM_FIELDS = {f.name for f in dataclasses.fields(SlurmOptions)}


def visible_gpus() -> list[int]:
    """The GPUs this process may use: CUDA_VISIBLE_DEVICES when set, else every device torch sees."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return parse_gpus(listed or "none")
    import torch

    return list(range(torch.cuda.device_count()))


def parse_gpus(text: str) -> list[int]:
    """'0,1,3' -> [0, 1, 3]; 'none' -> []."""
    if text.strip().lower() == "none":
        return []
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--gpus takes GPU indices separated by commas (e.g. 0,1) or 'none', got {text!r}") from None


def read_slurm_config(path: str | None) -> dict:
    """Site defaults for the slurm executor: `path`, else $MOPD_SLURM_CONFIG, else ~/.config/mopd/slurm.yaml."""
    explicit = path or os.environ.get(SLURM_CONFIG_ENV)
    path = os.path.expanduser(explicit or SLURM_CONFIG_DEFAULT)
    if not os.path.isfile(path):
        if explicit:
            raise FileNotFoundError(f"no SLURM config file {path}")
        return {}
    with open(path, encoding="utf-8") as f:
        try:
            values = yaml.safe_load(f) or {}
        except yaml.YAMLError as err:
            raise ValueError(f"{path} is not valid YAML: {err}") from None
    values = {str(key).replace("-", "_"): value for key, value in values.items()}
    unknown = sorted(set(values) - _SLURM_FIELDS)
    if unknown:
        raise ValueError(f"{path}: unknown keys {', '.join(unknown)}; valid: {', '.join(sorted(_SLURM_FIELDS))}")
    return values


def slurm_options(args: argparse.Namespace) -> SlurmOptions:
    """The array's options: the defaults, then the site config file, then the command line."""
    values = read_slurm_config(args.slurm_config)
    for name in _SLURM_FIELDS - {"setup", "sbatch"}:
        given = getattr(args, name, None)
        if given is not None:
            values[name] = given
    return SlurmOptions(**values)


def build_executor(args: argparse.Namespace):
    """The executor the command line asks for."""
    output = os.path.abspath(args.output)
    if args.no_wait and args.executor != "slurm":
        raise ValueError("--no-wait is for the slurm executor: local and debug jobs end with the command")
    if args.executor == "debug":
        return DebugExecutor(output, args.threads)
    if args.executor == "local":
        gpus = parse_gpus(args.gpus) if args.gpus is not None else visible_gpus()
        if gpus and args.jobs != 1:
            raise ValueError(f"--jobs sets CPU slots, but GPUs {gpus} are in use: pack jobs with --jobs-per-gpu, "
                             "or pass --gpus none for CPU slots")
        slots = local_slots(gpus, args.jobs_per_gpu, args.jobs, args.threads)
        return LocalExecutor(output, slots, **({"poll_s": args.poll} if args.poll else {}))
    if shutil.which("sbatch") is None:
        raise FileNotFoundError("the slurm executor needs SLURM's sbatch on PATH; on one machine use --executor local")
    return SlurmExecutor(output, slurm_options(args), args.threads, **({"poll_s": args.poll} if args.poll else {}))


def _report_ended(index: int, total: int, ended: Ended) -> None:
    record = ended.record
    took = format_seconds(record.seconds) if record.seconds is not None else "?"
    if record.state == "done":
        logger.info("[%d/%d] done %s (%s)", index, total, ended.job.id, took)
    else:
        logger.info("[%d/%d] FAILED %s (%s): %s", index, total, ended.job.id, took, record.error)


def _print_results(output: str, protocols: Sequence[str]) -> None:
    from mopd.results import build_report, render

    for protocol in protocols:
        report = build_report(output, protocol)
        if report.runs or report.problems:
            sys.stdout.write(render(report, "markdown") + "\n")


def run_jobs(executor, jobs: Sequence[Job], args: argparse.Namespace) -> int:
    """Run the jobs that are not done; print the results tables and a summary; 1 when a job failed.

    What is done is read from the run folders; a damaged job record is rewritten from them first.
    """
    output = os.path.abspath(args.output)
    done = {job.id: job.done() for job in jobs}
    for job in jobs:
        rewrite_damaged_record(output, job.id, done[job.id], executor.name)
    todo = [job for job in jobs if not done[job.id]]
    logger.info("%d jobs: %d done, %d to run (%s executor, %d at once)", len(jobs), len(jobs) - len(todo),
                len(todo), executor.name, min(executor.parallelism, max(1, len(todo))))
    if args.no_wait:
        if todo:
            executor.submit(todo)
        logger.info("Follow them with: python -m mopd.study status %s", output)
        return 0
    failed = []
    for index, ended in enumerate(executor.run(todo) if todo else (), 1):
        _report_ended(index, len(todo), ended)
        if ended.record.state != "done":
            failed.append(ended)
    _print_results(output, args.protocols)
    logger.info("%d of %d jobs done, %d failed", len(jobs) - len(failed), len(jobs), len(failed))
    for ended in failed:
        logger.info("FAILED %s\n  %s\n  log: %s", ended.job.id, ended.record.error,
                    ended.record.log or "above, in this command's output")
    return 1 if failed else 0
