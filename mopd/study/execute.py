"""A job as an executor runs it: its steps in order in one process, with a record of how it went.

`StudyJob` is what the executors hand to submitit. It is checkpointable: when SLURM preempts it or
its time runs out, submitit requeues the same job, whose finished steps are skipped and whose
interrupted training resumes from its last checkpoint (train.py resumes from the run folder).
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import time

import submitit

from mopd.study.jobs import Job
from mopd.study.runner import run_step
from mopd.study.state import JobRecord, readable_record, this_host, write_record

logger = logging.getLogger(__name__)


def _executor_job(executor: str) -> tuple[str, str]:
    """(job id, log file) of the job running this process, as submitit knows them; empty in process."""
    if executor == "debug":
        return "", ""
    env = submitit.JobEnvironment()
    return env.job_id, str(env.paths.stdout)  # the executors send stderr to the same file


def _set_threads(threads: int) -> int:
    """Use `threads` intra-op threads (0: the CPUs SLURM gave the job, else torch's default); return the count."""
    import torch

    threads = threads or int(os.environ.get("SLURM_CPUS_PER_TASK", "0"))
    if threads:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def _log_to_stdout() -> None:
    """Show this package's INFO lines in the job's log (a submitit job process configures no logging)."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(handler)
        logging.getLogger("submitit").propagate = False  # it has its own handler
    root.setLevel(logging.INFO)


class StudyJob(submitit.helpers.Checkpointable):
    """Run a job's steps; finished steps are skipped, so running it again (or a requeue) resumes it."""

    def __init__(self, job: Job, executor: str, threads: int = 0) -> None:
        self.job = job
        self.executor = executor
        self.threads = threads

    def checkpoint(self, *args, **kwargs) -> submitit.helpers.DelayedSubmission:
        """What submitit requeues when SLURM preempts the job or its time runs out: this same job.

        SIGTERM is ignored from here on, which submitit's `scontrol requeue` child inherits: the requeue
        it asks for sends SIGTERM to every process of the job, and one that reached scontrol before it
        exited would turn a requeue that happened into an error, and the job into a failed one.
        """
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        return super().checkpoint(*args, **kwargs)

    def __call__(self) -> JobRecord:
        """Run the steps until one fails; return (and write) the job's record."""
        _log_to_stdout()
        output = self.job.steps[0].output
        previous = readable_record(output, self.job.id)
        job_id, log = _executor_job(self.executor)
        record = JobRecord(
            state="running", attempt=previous.attempt + 1 if previous else 1, started=time.time(),
            host=this_host(), pid=os.getpid(), executor=self.executor, executor_job_id=job_id, log=log,
            devices=os.environ.get("CUDA_VISIBLE_DEVICES", "all"), threads=_set_threads(self.threads),
        )
        write_record(output, self.job.id, record)
        logger.info("Job %s (attempt %d)", self.job.id, record.attempt)
        for step in self.job.steps:
            result = run_step(step)
            if not result.ok:
                record.state, record.error, record.failed_step = "failed", result.error, step.path
                break
        else:
            record.state = "done"
        record.finished = time.time()
        write_record(output, self.job.id, record)
        return record
