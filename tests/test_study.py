"""`python -m mopd.study` with the debug and local executors: whole studies with the tiny CLIP on generated
data, failures that stay local, a killed job finished by the same command, GPU slots, and `status`."""
from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
from collections import Counter

import pytest

from study_helpers import STUDY_OVERRIDES, correct_counts, records, study, study_argv, study_env, wait_for

from e2e import REPO_ROOT
from mopd.study.state import JobRecord, PlannedJob, record_path
from mopd.study.status import JobStatus, time_left


def test_debug_study_reports_a_missing_dataset_and_the_rest_finishes(data_root, tmp_path):
    out = str(tmp_path / "out")
    args = ["run", "--executor", "debug", "--methods", "coop", "zsclip", "--datasets", "synthetic", "caltech101",
            "--seeds", "1", "--shots", "4", "--data", data_root, "--output", out, *STUDY_OVERRIDES]
    first = study(*args)
    assert first.returncode == 1, first.stderr[-3000:]
    assert "4 jobs: 0 done, 4 to run (debug executor, 1 at once)" in first.stdout
    assert "2 of 4 jobs done, 2 failed" in first.stdout
    missing = f"error: Caltech101: the dataset folder {data_root}/caltech-101 does not exist"
    summary = first.stdout.split("2 of 4 jobs done, 2 failed")[1]
    assert summary.count(missing) == 2  # one per failed job, with its error line
    assert "FAILED base2new/train_base/caltech101/shots_4/CoOp/vit_b16_ctxv1/seed1" in summary
    for method, cfg in (("CoOp", "vit_b16_ctxv1"), ("ZeroshotCLIP", "vit_b16")):  # the results table
        assert f"| synthetic | {method} | {cfg} | 4 |" in first.stdout

    status = study("status", out)
    assert status.returncode == 1
    assert "4 jobs: 2 done, 0 running, 2 failed, 0 pending" in status.stdout
    assert "| coop | base2new | synthetic | 1 | 0 | 0 | 0 |" in status.stdout
    assert "| coop | base2new | caltech101 | 0 | 0 | 1 | 0 | - |" in status.stdout
    assert status.stdout.count(missing) == 2 and "log: the console of the run command" in status.stdout

    again = study(*args)  # only what is not done runs again
    assert again.returncode == 1 and "4 jobs: 2 done, 2 to run" in again.stdout


def test_damaged_bookkeeping_is_named_by_status_and_rewritten_by_run_from_the_run_folders(data_root, tmp_path):
    out = str(tmp_path / "out")
    args = ["run", "--executor", "debug", "--methods", "zsclip", "--datasets", "synthetic", "--seeds", "1", "2", "3",
            "--shots", "4", "--data", data_root, "--output", out, *STUDY_OVERRIDES]
    assert study(*args).returncode == 0
    job = "base2new/test_base/synthetic/shots_4/ZeroshotCLIP/vit_b16/seed{}"
    paths = {seed: record_path(out, job.format(seed)) for seed in (1, 2, 3)}
    with open(paths[2], "rb") as f:
        whole = f.read()
    with open(paths[1], "wb") as f:
        f.write(b"\x96\x00\xfe binary garbage")
    with open(paths[2], "wb") as f:
        f.write(whole[: len(whole) // 2])  # cut off mid-write
    with open(paths[3], "w") as f:
        json.dump({**json.loads(whole), "attempt": "2", "state": "finished"}, f)  # every key, wrong types
    shutil.rmtree(os.path.join(out, job.format(3)))  # seed 3 is not done: its run is gone

    status = study("status", out)  # every damaged record in one report, and the jobs all the same
    assert status.returncode == 1 and not status.stderr, status.stderr
    assert "3 jobs: 2 done, 0 running, 1 failed, 0 pending" in status.stdout
    damaged = status.stdout.split("## Damaged records")[1]
    for seed, problem in ((1, "not UTF-8 text ('utf-8' codec can't decode byte 0x96"), (2, "not valid JSON ("),
                          (3, "not a valid job record (state should be one of 'running', 'done', 'failed', got 'finished'; "
                              "attempt should be int, got '2')")):
        assert f"- {paths[seed]}\n  {problem}" in damaged
    assert f"- {job.format(3)}\n  its record {paths[3]} is damaged" in status.stdout  # not done: failed

    again = study(*args)  # what is done comes from the run folders; the records are rewritten
    assert again.returncode == 0, again.stdout[-3000:]
    assert "3 jobs: 2 done, 1 to run" in again.stdout
    assert all(f"{path} was damaged: " in again.stdout for path in paths.values())
    assert {seed: (r["state"], r["attempt"]) for seed, r in zip((1, 2, 3), records(out).values())} == {
        1: ("done", 0), 2: ("done", 0), 3: ("done", 1)}  # 0: rebuilt from the run folders
    status = study("status", out)
    assert status.returncode == 0 and "3 jobs: 3 done" in status.stdout and "Damaged" not in status.stdout

    plan = os.path.join(out, "study", "study.json")
    with open(plan, "r+b") as f:  # study.json and a record at once
        f.truncate(40)
    with open(paths[1], "w") as f:
        json.dump({"state": "done"}, f)
    status = study("status", out)
    assert status.returncode == 1 and not status.stderr, status.stderr
    assert f"The planned jobs are unknown: {plan} cannot be read back." in status.stdout
    assert f"- {plan}\n  not valid JSON (" in status.stdout
    assert f"- {paths[1]}\n  not a valid job record (lacks the keys attempt, executor, " in status.stdout
    again = study(*args)
    assert again.returncode == 0 and "3 jobs: 3 done, 0 to run" in again.stdout, again.stdout[-3000:]
    status = study("status", out)
    assert status.returncode == 0 and "3 jobs: 3 done" in status.stdout and "Damaged" not in status.stdout


def test_local_study_finishes_a_job_killed_mid_training_with_the_numbers_of_an_uninterrupted_one(data_root, tmp_path):
    out = str(tmp_path / "out")
    longer = [*STUDY_OVERRIDES, "OPTIM.MAX_EPOCH", "30"]
    args = ["run", "--methods", "coop", "--datasets", "synthetic", "--seeds", "1", "2", "--shots", "4",
            "--data", data_root, "--output", out, "--threads", "1"]
    killed_dir = os.path.join(out, "base2new/train_base/synthetic/shots_4/CoOp/vit_b16_ctxv1/seed1")
    job_id = os.path.relpath(killed_dir, out)
    with subprocess.Popen(study_argv(*args, "--executor", "local", "--jobs", "2", *longer), cwd=REPO_ROOT,
                          env=study_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        wait_for(lambda: glob.glob(os.path.join(killed_dir, "prompt_learner", "model.pth.tar-2")), 300,
                 "the second epoch's checkpoint")
        pid = records(out)[job_id]["pid"]
        os.kill(pid, signal.SIGKILL)  # the job's process, mid-training
        first, _ = proc.communicate(timeout=300)
    assert proc.returncode == 1, first[-3000:]
    assert not os.path.exists(os.path.join(killed_dir, "run_finished.json"))  # it really was cut short
    assert "1 of 2 jobs done, 1 failed" in first and f"FAILED {job_id}\n  the job ended before finishing" in first
    assert "1 done, 0 running, 1 failed, 0 pending" in study("status", out).stdout

    again = study(*args, "--executor", "local", "--jobs", "2", *longer)
    assert again.returncode == 0, again.stdout[-3000:]
    assert "2 jobs: 1 done, 1 to run" in again.stdout
    assert records(out)[job_id]["attempt"] == 2
    resumed_log = sorted(glob.glob(os.path.join(killed_dir, "log.txt-*")))[-1]
    with open(resumed_log) as f:
        assert "(will resume training)" in f.read()

    reference = str(tmp_path / "reference")
    ref = study("run", "--executor", "debug", "--methods", "coop", "--datasets", "synthetic", "--seeds", "1",
                "--shots", "4", "--data", data_root, "--output", reference, "--threads", "1", *longer)
    assert ref.returncode == 0, ref.stdout[-3000:]
    resumed = {path: n for path, n in correct_counts(out).items() if path.endswith("seed1")}
    assert resumed == correct_counts(reference) and len(resumed) == 2  # Base and New of seed 1


def test_local_gpu_slots_give_each_job_one_gpu_two_jobs_per_gpu(data_root, tmp_path):
    out = str(tmp_path / "out")
    proc = study("run", "--executor", "local", "--gpus", "0,1", "--jobs-per-gpu", "2", "--methods", "zsclip",
                 "--datasets", "synthetic", "--seeds", "1", "2", "3", "4", "--shots", "4", "--data", data_root,
                 "--output", out, *STUDY_OVERRIDES)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "4 jobs: 0 done, 4 to run (local executor, 4 at once)" in proc.stdout
    seen = records(out).values()
    assert Counter(r["devices"] for r in seen) == {"0": 2, "1": 2}  # what each job's CUDA_VISIBLE_DEVICES was
    assert {r["threads"] for r in seen} == {max(1, len(os.sched_getaffinity(0)) // 4)}  # the CPUs, shared
    assert all(os.path.isfile(r["log"]) and r["log"].startswith(os.path.join(out, "study", "logs")) for r in seen)


def _status(state: str, method: str, seconds: float | None = None, started: float = 0.0) -> JobStatus:
    job = PlannedJob(f"{method}-{state}-{seconds}-{started}", method, "base2new", "dtd", 16, 1, (("p", True),))
    record = JobRecord(state, 1, started, "h", 1, "local", "", "",
                       finished=None if seconds is None else started + seconds)
    return JobStatus(job, state, record if state != "pending" else None)


def test_time_left_is_estimated_per_method_from_the_finished_jobs():
    statuses = [_status("done", "coop", 100.0), _status("done", "coop", 300.0), _status("done", "mopd", 50.0),
                _status("pending", "coop"), _status("pending", "coop"), _status("pending", "kgcoop"),
                _status("running", "mopd", started=1000.0), _status("running", "kgcoop", started=900.0),
                _status("failed", "coop", 5.0)]
    # pending: coop 2 x 200 s, kgcoop (none finished) the overall mean 150 s; running: kgcoop 150 s less
    # the 120 s it has run, mopd 50 s less 20 s: 610 s of work over the 2 jobs running now
    assert time_left(statuses, parallelism=8, now=1020.0) == "about 5m 05s (5 jobs, 10m 10s of work, 2 at once)"
    # before any job runs: the study's parallelism
    assert time_left(statuses[:6], parallelism=8).endswith("(3 jobs, 9m 10s of work, 3 at once)")
    assert time_left(statuses[3:5], parallelism=2) == "unknown until a job finishes"


def test_slurm_options_come_from_the_site_config_then_the_command_line(tmp_path, monkeypatch):
    from submitit.slurm.slurm import _make_sbatch_string

    from mopd.study.cli import build_parser
    from mopd.study.launch import slurm_options

    site = tmp_path / "slurm.yaml"
    site.write_text("partition: gpu\naccount: lab\ntime: 600\ngpus-per-job: 1\ncpus-per-job: 8\n"
                    "setup: [module load cuda]\nsbatch: {constraint: a100}\n")
    monkeypatch.setenv("MOPD_SLURM_CONFIG", str(site))
    args = build_parser().parse_args(["run", "--executor", "slurm", "--time", "90", "--array-parallelism", "4"])
    sbatch = _make_sbatch_string(command="python job.py", folder=str(tmp_path), map_count=10,
                                 **slurm_options(args).parameters())
    for line in ("--partition=gpu", "--account=lab", "--time=90", "--gpus-per-node=1", "--cpus-per-task=8",
                 "--constraint=a100", "--array=0-9%4"):
        assert f"#SBATCH {line}\n" in sbatch
    assert "\nmodule load cuda\n" in sbatch

    site.write_text("partitoin: gpu\n")
    with pytest.raises(ValueError, match="unknown keys partitoin; valid: .*partition"):
        slurm_options(args)
