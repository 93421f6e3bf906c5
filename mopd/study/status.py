"""`status`: where a study stands, from its output folder alone.

A job is done when its runs' markers and results are in their folders; otherwise its record says
whether it runs (and its process or SLURM job is still there), failed (with its last error line and
log), or has not started. The time left is estimated from the jobs that finished. Bookkeeping files
that cannot be read back are all named in one section; a job that is not done and whose record is
damaged counts as failed, since only `run` can say more.
"""
from __future__ import annotations

import getpass
import os
import subprocess
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mopd.files.io import DamagedJSONError
from mopd.study.state import (
    INTERRUPTED, REWRITE, JobRecord, PlannedJob, damaged_records, read_record, read_study, this_host,
)
from mopd.study.steps import run_finished

STATES = ("done", "running", "failed", "pending")


@dataclass(frozen=True)
class StudyStatus:
    """Every planned job's status, the last `run`'s parallelism, and the bookkeeping files that are damaged."""

    jobs: list[JobStatus]
    parallelism: int
    damaged: list[DamagedJSONError]  # study.json first when it is damaged (then `jobs` is empty)


@dataclass(frozen=True)
class JobStatus:
    """A planned job, its state and its last record."""

    job: PlannedJob
    state: str  # one of STATES
    record: JobRecord | None
    error: str = ""  # why a failed job failed


def _slurm_jobs() -> set[str] | None:
    """Every job id (ARRAY_TASK) SLURM holds for this user; None when squeue cannot say."""
    try:
        proc = subprocess.run(["squeue", "-h", "-r", "-o", "%i", "-u", getpass.getuser()],
                              capture_output=True, text=True)
    except FileNotFoundError:
        return None
    return set(proc.stdout.split()) if proc.returncode == 0 else None


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Liveness:
    """Whether a running record's job is still there (squeue is asked once, only when needed)."""

    def __init__(self) -> None:
        self._slurm: set[str] | None = None
        self._asked = False

    def alive(self, record: JobRecord) -> bool:
        if record.executor == "slurm":
            if not self._asked:
                self._slurm, self._asked = _slurm_jobs(), True
            if self._slurm is not None:
                return record.executor_job_id in self._slurm
        if record.host == this_host():
            return _process_alive(record.pid)
        return True  # another machine, no scheduler to ask: trust the record


def job_status(output: str, job: PlannedJob, liveness: _Liveness, damaged: list[DamagedJSONError]) -> JobStatus:
    """The state of one planned job; a damaged record is added to `damaged`."""
    done = all(run_finished(path, trains) for path, trains in job.steps)
    try:
        record = read_record(output, job.id)
    except DamagedJSONError as err:
        damaged.append(err)
        return JobStatus(job, "done" if done else "failed", None, "" if done else f"its record {err.path} is damaged")
    if done:
        return JobStatus(job, "done", record)
    if record is None:
        return JobStatus(job, "pending", None)
    if record.state == "running":
        if liveness.alive(record):
            return JobStatus(job, "running", record)
        return JobStatus(job, "failed", record, INTERRUPTED)
    if record.state == "failed":
        return JobStatus(job, "failed", record, record.error)
    return JobStatus(job, "pending", record)  # recorded done, but its runs are gone


def study_status(output: str) -> StudyStatus:
    """The state of every job planned in `output`; with a damaged study.json, every damaged job record."""
    try:
        jobs, parallelism = read_study(output)
    except DamagedJSONError as err:
        return StudyStatus([], 0, [err, *damaged_records(output)])
    liveness, damaged = _Liveness(), []
    statuses = [job_status(output, job, liveness, damaged) for job in jobs]
    return StudyStatus(statuses, parallelism, damaged)


def format_seconds(seconds: float) -> str:
    """'1h 02m', '3m 20s' or '12s'."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds}s"


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def _durations(statuses: Sequence[JobStatus]) -> dict[tuple[str, str], list[float]]:
    """Seconds of each finished job, by (method, protocol)."""
    found: dict[tuple[str, str], list[float]] = defaultdict(list)
    for status in statuses:
        if status.state == "done" and status.record is not None and status.record.seconds is not None:
            found[(status.job.method, status.job.protocol)].append(status.record.seconds)
    return found


def time_left(statuses: Sequence[JobStatus], parallelism: int, now: float | None = None) -> str:
    """An estimate of the time until the running and pending jobs end, from the finished jobs' times.

    Each job is expected to take the mean time of the finished jobs of its method and protocol (of
    all finished jobs when none of its kind has finished), less what a running job has run; the sum
    is spread over the jobs running now (the study's parallelism when none runs).
    """
    durations = _durations(statuses)
    overall = _mean(t for times in durations.values() for t in times)
    if overall is None:
        return "unknown until a job finishes"
    now = time.time() if now is None else now
    work, left = 0.0, 0
    for status in statuses:
        if status.state not in ("running", "pending"):
            continue
        expected = _mean(durations.get((status.job.method, status.job.protocol), [])) or overall
        if status.state == "running" and status.record is not None:
            expected = max(0.0, expected - (now - status.record.started))
        work += expected
        left += 1
    if not left:
        return "nothing left to run"
    running = sum(status.state == "running" for status in statuses)
    at_once = running or max(1, min(parallelism or 1, left))  # what runs now is what the machines give
    return f"about {format_seconds(work / at_once)} ({left} jobs, {format_seconds(work)} of work, {at_once} at once)"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    return [line(header), "|" + "---|" * len(header)] + [line(row) for row in rows]


def _job_lines(statuses: Sequence[JobStatus], parallelism: int) -> list[str]:
    """The counts, and the table per method, protocol and dataset."""
    counts = {state: sum(s.state == state for s in statuses) for state in STATES}
    lines = [f"{len(statuses)} jobs: " + ", ".join(f"{counts[s]} {s}" for s in STATES), ""]
    groups: dict[tuple[str, str, str], list[JobStatus]] = defaultdict(list)
    for status in statuses:
        groups[(status.job.method, status.job.protocol, status.job.dataset)].append(status)
    rows = []
    for (method, protocol, dataset), members in groups.items():
        times = [s.record.seconds for s in members if s.state == "done" and s.record and s.record.seconds is not None]
        mean = _mean(times)
        rows.append([method, protocol, dataset] + [str(sum(s.state == state for s in members)) for state in STATES]
                    + [format_seconds(mean) if mean is not None else "-"])
    return lines + _table(["Method", "Protocol", "Dataset", *STATES, "Time per job"], rows) + [""]


def _failed_lines(statuses: Sequence[JobStatus]) -> list[str]:
    failed = [s for s in statuses if s.state == "failed"]
    if not failed:
        return []
    lines = ["## Failed", ""]
    for status in failed:
        if status.record is None:
            log = "unknown: the record is damaged"
        else:
            log = status.record.log or "the console of the run command"
        lines += [f"- {status.job.id}", f"  {status.error}", f"  log: {log}"]
    return lines + [""]


def _running_lines(statuses: Sequence[JobStatus]) -> list[str]:
    running = [s for s in statuses if s.state == "running"]
    if not running:
        return []
    lines = ["## Running", ""]
    for status in running:
        record = status.record
        where = f"{record.executor} job {record.executor_job_id}" if record.executor_job_id else record.executor
        lines.append(f"- {status.job.id}: {where} on {record.host}, attempt {record.attempt}, for "
                     f"{format_seconds(time.time() - record.started)} (log: {record.log or 'console'})")
    return lines + [""]


def _damaged_lines(damaged: Sequence[DamagedJSONError]) -> list[str]:
    if not damaged:
        return []
    lines = ["## Damaged records", ""]
    for err in damaged:
        lines += [f"- {err.path}", f"  {err.problem}"]
    return lines + ["", f"To repair them, {REWRITE}.", ""]


def render_status(output: str, status: StudyStatus, verbose: bool = False) -> str:
    """The status report as Markdown text."""
    statuses = status.jobs
    lines = [f"# Study in {output}", ""]
    if status.damaged and not statuses:
        lines += [f"The planned jobs are unknown: {status.damaged[0].path} cannot be read back.", ""]
    else:
        lines += _job_lines(statuses, status.parallelism) + _failed_lines(statuses) + _running_lines(statuses)
    lines += _damaged_lines(status.damaged)
    if verbose:
        lines += ["## Jobs", ""]
        lines += _table(["Job", "State", "Time"], [
            [s.job.id, s.state, format_seconds(s.record.seconds) if s.state == "done" and s.record
             and s.record.seconds is not None else "-"] for s in statuses])
        lines.append("")
    if statuses:
        lines.append(f"Time left: {time_left(statuses, status.parallelism)}")
    return "\n".join(lines) + "\n"
