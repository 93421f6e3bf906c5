"""What a study keeps in its output folder: the planned jobs, and each job's record of its last attempt.

Whether a job is done is read from its runs' folders (finished markers and result blocks), never from
these files; they add what the folders cannot say: which jobs a study has, which one is running where,
why one failed (its last error line and log) and how long each took. Layout under `<OUTPUT>/study/`:
`study.json` (the jobs of every `run` into this output, merged), `jobs/<job id>.json` (one record per
job) and `logs/` (the executors' per-job logs).
"""
from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from mopd.files.atomic import file_lock
from mopd.files.io import read_json, write_json_atomic
from mopd.study.jobs import Job

STUDY_FOLDER = "study"
INTERRUPTED = "the job ended before finishing (killed, cancelled or out of memory); run the same command to resume it"


def study_dir(output: str) -> str:
    """The study's bookkeeping folder inside the output root."""
    return os.path.join(output, STUDY_FOLDER)


def logs_dir(output: str) -> str:
    """Where the executors write each job's stdout and stderr."""
    return os.path.join(study_dir(output), "logs")


@dataclass
class JobRecord:
    """A job's account of its last attempt, written by the job itself."""

    state: str  # "running", "done" or "failed"
    attempt: int  # 1 for the first start; a resumed or requeued job counts up
    started: float  # time.time() at the start of this attempt
    host: str
    pid: int
    executor: str  # debug, local or slurm
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


def read_record(output: str, job_id: str) -> JobRecord | None:
    """The job's record, or None before its first start."""
    path = record_path(output, job_id)
    return JobRecord(**read_json(path)) if os.path.isfile(path) else None


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


def _study_file(output: str) -> str:
    return os.path.join(study_dir(output), "study.json")


def read_study(output: str) -> tuple[list[PlannedJob], int]:
    """The jobs every `run` into `output` planned, and the number of jobs the last one ran at once."""
    path = _study_file(output)
    if not os.path.isfile(path):
        return [], 0
    data = read_json(path)
    jobs = [PlannedJob(**{**j, "steps": tuple((p, bool(t)) for p, t in j["steps"])}) for j in data["jobs"]]
    return jobs, int(data["parallelism"])


def add_to_study(output: str, jobs: Sequence[Job], parallelism: int) -> None:
    """Merge `jobs` into study.json (a job planned again replaces its entry) and record the parallelism."""
    with file_lock(_study_file(output)):
        known, _ = read_study(output)
        merged = {job.id: job for job in known}
        merged.update((job.id, PlannedJob.of(job)) for job in jobs)
        entries = [asdict(job) for job in merged.values()]
        write_json_atomic(_study_file(output), {"parallelism": parallelism, "jobs": entries})
