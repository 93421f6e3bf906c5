"""What a study keeps in its output folder: the planned jobs, and each job's record of its last attempt.

Whether a job is done is read from its runs' folders (finished markers and result blocks), never from
these files; they add what the folders cannot say: which jobs a study has, which one is running where,
why one failed (its last error line and log) and how long each took. Layout under `<OUTPUT>/study/`:
`study.json` (the jobs of every `run` into this output, merged), `jobs/<job id>.json` (one record per
job) and `logs/` (the executors' per-job logs).

A file here that cannot be read back (garbage bytes, cut-off JSON, missing keys or values of the wrong
type) raises DamagedJSONError naming it; `run` rewrites it from the run folders.
"""
from __future__ import annotations

import glob
import logging
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal, TypeVar

from mopd.files.atomic import file_lock
from mopd.files.io import DamagedJSONError, read_json, write_json_atomic
from mopd.files.typed_json import from_json
from mopd.study.jobs import Job

logger = logging.getLogger(__name__)
T = TypeVar("T")

STUDY_FOLDER = "study"
INTERRUPTED = "the job ended before finishing (killed, cancelled or out of memory); run the same command to resume it"
REWRITE = ("run the study's `python -m mopd.study run` command again: it reads which jobs are done from their "
           "run folders and rewrites the damaged records")


def study_dir(output: str) -> str:
    """The study's bookkeeping folder inside the output root."""
    return os.path.join(output, STUDY_FOLDER)


def logs_dir(output: str) -> str:
    """Where the executors write each job's stdout and stderr."""
    return os.path.join(study_dir(output), "logs")


@dataclass
class JobRecord:
    """A job's account of its last attempt, written by the job itself."""

    state: Literal["running", "done", "failed"]
    attempt: int  # 1 for the first start; a resumed or requeued job counts up; 0: rebuilt by `run` from the runs
    started: float  # time.time() at the start of this attempt (of the rebuild for attempt 0)
    host: str
    pid: int
    executor: Literal["debug", "local", "slurm"]
    executor_job_id: str  # SLURM's job id (ARRAY_TASK), the local process id, or "" in process
    log: str  # the executor's log file of the job ("" when it writes to the console)
    devices: str = ""  # the job's CUDA_VISIBLE_DEVICES ("" for none, "all" when unset)
    threads: int = 0  # torch's intra-op threads in the job
    finished: float | None = None
    error: str = ""  # the failed step's last error line
    failed_step: str = ""  # the run folder of the step that failed

    @property
    def seconds(self) -> float | None:
        """How long the attempt took, once it ended."""
        return None if self.finished is None else self.finished - self.started


def record_path(output: str, job_id: str) -> str:
    """The record file of a job (its id is its training run's path, so the records mirror the runs)."""
    return os.path.join(study_dir(output), "jobs", job_id + ".json")


def _read_typed(path: str, cls: type[T], what: str) -> T:
    """The `cls` stored in `path`; DamagedJSONError naming the file when it is not one."""
    value = read_json(path, REWRITE)
    try:
        return from_json(cls, value)
    except ValueError as err:
        raise DamagedJSONError(path, f"not a valid {what} ({err})", REWRITE) from None


def read_record(output: str, job_id: str) -> JobRecord | None:
    """The job's record, or None before its first start; DamagedJSONError when it cannot be read back."""
    path = record_path(output, job_id)
    return _read_typed(path, JobRecord, "job record") if os.path.isfile(path) else None


def readable_record(output: str, job_id: str) -> JobRecord | None:
    """The job's record; None before its first start, or (with a warning naming the file) when it is damaged."""
    try:
        return read_record(output, job_id)
    except DamagedJSONError as err:
        logger.warning("Ignoring a damaged job record: %s", err)
        return None


def damaged_records(output: str) -> list[DamagedJSONError]:
    """Every job record under the study folder that cannot be read back, in path order."""
    found = []
    for path in sorted(glob.glob(os.path.join(study_dir(output), "jobs", "**", "*.json"), recursive=True)):
        try:
            _read_typed(path, JobRecord, "job record")
        except DamagedJSONError as err:
            found.append(err)
    return found


def rewrite_damaged_record(output: str, job_id: str, done: bool, executor: str) -> None:
    """Replace a damaged record with what the run folders say: a done job's (attempt 0, no duration) is
    rewritten; one of a job that is not done is removed (it is pending, and writes its own when it starts)."""
    try:
        read_record(output, job_id)
        return
    except DamagedJSONError as err:
        path, problem = err.path, err.problem
    if done:
        write_record(output, job_id, JobRecord("done", 0, time.time(), this_host(), os.getpid(), executor, "", ""))
        logger.warning("%s was damaged: %s; rewritten from the run folders: the job is done", path, problem)
    else:
        os.remove(path)
        logger.warning("%s was damaged: %s; removed: the job is not done, and writes a new record when it "
                       "starts", path, problem)


def write_record(output: str, job_id: str, record: JobRecord) -> None:
    """Replace the job's record atomically."""
    write_json_atomic(record_path(output, job_id), asdict(record))


def this_host() -> str:
    """The name of this machine, as job records store it."""
    return socket.gethostname()


@dataclass(frozen=True)
class PlannedJob:
    """A job as study.json lists it: enough to group, describe and check it without the settings table."""

    id: str
    method: str
    protocol: str
    dataset: str
    shots: int
    seed: int
    steps: tuple[tuple[str, bool], ...]  # (run folder, whether it trains) of each step

    @classmethod
    def of(cls, job: Job) -> PlannedJob:
        """The entry of `job`."""
        steps = tuple((step.path, step.trains) for step in job.steps)
        return cls(job.id, job.method, job.protocol, job.dataset, job.shots, job.seed, steps)


def study_file(output: str) -> str:
    """study.json: the jobs every `run` into `output` planned."""
    return os.path.join(study_dir(output), "study.json")


@dataclass(frozen=True)
class _StudyFile:
    parallelism: int  # jobs the last `run` ran at once
    jobs: tuple[PlannedJob, ...]


def read_study(output: str) -> tuple[list[PlannedJob], int]:
    """The jobs every `run` into `output` planned, and the number of jobs the last one ran at once.

    DamagedJSONError when study.json cannot be read back.
    """
    path = study_file(output)
    if not os.path.isfile(path):
        return [], 0
    study = _read_typed(path, _StudyFile, "study file")
    return list(study.jobs), study.parallelism


def add_to_study(output: str, jobs: Sequence[Job], parallelism: int) -> None:
    """Merge `jobs` into study.json (a job planned again replaces its entry) and record the parallelism.

    A damaged study.json is rewritten with `jobs` alone (a warning says so).
    """
    path = study_file(output)
    with file_lock(path):
        try:
            known, _ = read_study(output)
        except DamagedJSONError as err:
            logger.warning("%s was damaged: %s; rewritten with this command's %d jobs: jobs that other `run` "
                           "commands planned into this output are listed again when those commands run again",
                           path, err.problem, len(jobs))
            known = []
        merged = {job.id: job for job in known}
        merged.update((job.id, PlannedJob.of(job)) for job in jobs)
        write_json_atomic(path, asdict(_StudyFile(parallelism, tuple(merged.values()))))
