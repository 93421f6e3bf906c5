"""The executors of a study: `debug` (in this process, one job after another), and on submitit `local`
(a pool of slots on this machine, one job per slot, each slot one GPU or a share of the CPUs) and
`slurm` (one job array).

Each yields the jobs as they end, with the record the job wrote; a job that died without writing its
end (killed, cancelled, out of memory) is reported as failed. What is done is decided by the output
folder, so the executors keep no state of their own.
"""
from __future__ import annotations

import collections
import logging
import os
import re
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import submitit

from mopd.study.execute import StudyJob
from mopd.study.jobs import Job
from mopd.study.state import INTERRUPTED, JobRecord, logs_dir, readable_record, this_host, write_record

logger = logging.getLogger(__name__)

LOCAL_TIMEOUT_MIN = 60 * 24 * 365  # a local job runs until it ends
_GPU_REFUSAL = re.compile(r"gres|gpu", re.IGNORECASE)  # sbatch's words when it cannot give the GPUs asked for


@dataclass(frozen=True)
class Ended:
    """A job that ended, and its record."""

    job: Job
    record: JobRecord


def _attempts(job: Job) -> int:
    record = readable_record(job.steps[0].output, job.id)
    return record.attempt if record else 0


def _ended(job: Job, attempts_before: int, executor: str, log: str) -> Ended:
    """The job's record of the attempt that just ended; a failed one is written when the job wrote none."""
    output = job.steps[0].output
    record = readable_record(output, job.id)
    if record is not None and record.attempt > attempts_before and record.state in ("done", "failed"):
        return Ended(job, record)
    now = time.time()
    if record is None or record.attempt <= attempts_before:
        record = JobRecord("failed", attempts_before + 1, now, this_host(), 0, executor, "", log)
    record = replace(record, state="failed", finished=now, error=INTERRUPTED, log=record.log or log)
    write_record(output, job.id, record)
    return Ended(job, record)


class DebugExecutor:
    """Every job in this process, one after another (for tests, run_protocol.sh and stepping through).

    Jobs are called directly rather than through submitit's debug executor, which opens pdb on an
    exception: scripts using this executor must never wait for a keyboard.
    """

    name = "debug"
    parallelism = 1

    def __init__(self, output: str, threads: int = 0) -> None:
        self.output = output
        self.threads = threads

    def run(self, jobs: Sequence[Job]) -> Iterator[Ended]:
        """Run the jobs; yield each as it ends."""
        for job in jobs:
            before = _attempts(job)
            StudyJob(job, self.name, self.threads)()
            yield _ended(job, before, self.name, "")


@dataclass(frozen=True)
class Slot:
    """Where one local job runs: a GPU (its CUDA_VISIBLE_DEVICES entry) or none, and its torch threads."""

    gpu: int | None
    threads: int


def local_slots(gpus: Sequence[int], jobs_per_gpu: int, cpu_jobs: int, threads: int = 0) -> list[Slot]:
    """`jobs_per_gpu` slots on each GPU, or `cpu_jobs` CPU slots without GPUs; the CPUs are shared evenly."""
    if jobs_per_gpu < 1 or cpu_jobs < 1:
        raise ValueError("--jobs-per-gpu and --jobs must be at least 1")
    places: list[int | None] = [gpu for gpu in gpus for _ in range(jobs_per_gpu)] if gpus else [None] * cpu_jobs
    share = threads or max(1, len(os.sched_getaffinity(0)) // len(places))
    return [Slot(gpu, share) for gpu in places]


class LocalExecutor:
    """A pool of slots on this machine: a new job starts in a slot as soon as the slot's job ends."""

    name = "local"

    def __init__(self, output: str, slots: Sequence[Slot], poll_s: float = 0.5) -> None:
        self.output = output
        self.slots = list(slots)
        self.parallelism = len(self.slots)
        self.poll_s = poll_s

    def _submit(self, executor: submitit.LocalExecutor, job: Job, slot: Slot) -> submitit.Job:
        gpus = {"gpus_per_node": 1, "visible_gpus": (slot.gpu,)} if slot.gpu is not None else {"gpus_per_node": 0}
        executor.update_parameters(timeout_min=LOCAL_TIMEOUT_MIN, stderr_to_stdout=True, **gpus)
        return executor.submit(StudyJob(job, self.name, slot.threads))

    def run(self, jobs: Sequence[Job]) -> Iterator[Ended]:
        """Run the jobs, at most one per slot at a time; yield each as it ends."""
        executor = submitit.LocalExecutor(logs_dir(self.output))
        queue = collections.deque(jobs)
        free = list(range(len(self.slots)))
        running: dict[int, tuple[Job, int, submitit.Job]] = {}
        try:
            while queue or running:
                while queue and free:
                    slot, job = free.pop(0), queue.popleft()
                    running[slot] = (job, _attempts(job), self._submit(executor, job, self.slots[slot]))
                time.sleep(self.poll_s)
                for slot, (job, before, handle) in list(running.items()):
                    if handle.done():
                        del running[slot]
                        free.append(slot)
                        yield _ended(job, before, self.name, str(handle.paths.stdout))
        finally:
            for _, _, handle in running.values():  # Ctrl-C: stop what still runs (it resumes next time)
                handle.cancel(check=False)


@dataclass
class SlurmOptions:
    """Per-job resources of a SLURM array (None leaves a value to the site's defaults)."""

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time: int = 24 * 60  # minutes per job; a job that reaches it is requeued and resumes
    gpus_per_job: int = 1
    cpus_per_job: int | None = None
    mem: str | None = None  # e.g. "32G"
    array_parallelism: int = 256  # jobs of the array running at once
    setup: list[str] = field(default_factory=list)  # shell lines run before each job (module load ...)
    sbatch: dict[str, str] = field(default_factory=dict)  # any other sbatch option, e.g. {"constraint": "a100"}

    def parameters(self) -> dict:
        """submitit's SlurmExecutor parameters."""
        chosen = {
            "partition": self.partition, "account": self.account, "qos": self.qos, "time": self.time,
            "gpus_per_node": self.gpus_per_job or None, "cpus_per_task": self.cpus_per_job, "mem": self.mem,
            "array_parallelism": self.array_parallelism, "setup": self.setup or None,
            "additional_parameters": self.sbatch or None,
        }
        return {key: value for key, value in chosen.items() if value is not None}


def _active_slurm_jobs(array_id: str) -> set[str] | None:
    """The ids (ARRAY_TASK) of the array's jobs SLURM still holds (pending, running, requeued); None if unknown."""
    proc = subprocess.run(["squeue", "-h", "-r", "-o", "%i", "-j", array_id], capture_output=True, text=True)
    if proc.returncode != 0:
        if "Invalid job id" in proc.stderr:  # SLURM has forgotten the whole array: nothing is active
            return set()
        logger.warning("squeue failed (%s); waiting", proc.stderr.strip())
        return None
    return set(proc.stdout.split())


class SlurmExecutor:
    """One SLURM job array per submission; waits for its jobs by asking squeue (no accounting needed)."""

    name = "slurm"

    def __init__(self, output: str, options: SlurmOptions, threads: int = 0, poll_s: float = 10.0) -> None:
        self.output = output
        self.options = options
        self.parallelism = options.array_parallelism
        self.threads = threads
        self.poll_s = poll_s
        self.array_id = ""

    def submit(self, jobs: Sequence[Job]) -> list[tuple[Job, int, submitit.Job]]:
        """Submit the jobs as one array; return each job with its attempt count before and submitit's handle."""
        executor = submitit.SlurmExecutor(os.path.join(logs_dir(self.output), "%j"))
        executor.update_parameters(job_name="mopd-study", stderr_to_stdout=True, **self.options.parameters())
        before = [_attempts(job) for job in jobs]
        try:
            handles = executor.submit_array([StudyJob(job, self.name, self.threads) for job in jobs])
        except (submitit.core.utils.FailedJobError, submitit.core.utils.FailedSubmissionError) as err:
            said = " ".join(str(err).split())
            raise ValueError(f"SLURM refused the job array ({said}); {self._refusal_advice(said)}") from None
        self.array_id = handles[0].job_id.split("_")[0]
        logger.info("Submitted %d jobs as SLURM job %s (logs in %s)", len(jobs), self.array_id, logs_dir(self.output))
        return list(zip(jobs, before, handles))

    def _refusal_advice(self, said: str) -> str:
        """What to change after sbatch refused the array with the message `said`."""
        gpus = self.options.gpus_per_job
        if gpus and _GPU_REFUSAL.search(said):
            where = f"partition {self.options.partition}" if self.options.partition else "the default partition"
            return (f"each job asks for {gpus} GPU{'s' if gpus > 1 else ''} (--gpus-per-job, default 1), which "
                    f"{where} does not offer: pass --gpus-per-job 0 to run the jobs on CPUs, or --partition "
                    "with one that has GPUs")
        return "check --partition, --account, --qos, --time and the site config (--slurm-config)"

    def run(self, jobs: Sequence[Job]) -> Iterator[Ended]:
        """Submit the jobs and yield each as it ends."""
        waiting = self.submit(jobs)
        while waiting:
            time.sleep(self.poll_s)
            active = _active_slurm_jobs(self.array_id)
            if active is None:
                continue
            still = []
            for job, before, handle in waiting:
                if handle.job_id in active and not handle.paths.result_pickle.exists():
                    still.append((job, before, handle))
                else:
                    yield _ended(job, before, self.name, str(handle.paths.stdout))
            waiting = still
