"""`python -m mopd.study run --executor slurm` on a real one-node SLURM cluster (.ci/slurm/start.sh).

Skipped, with the reason, where SLURM is not running; CI starts the cluster and sets MOPD_REQUIRE_SLURM=1,
which turns that skip into a failure.
"""
from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import subprocess

import pytest
from study_helpers import STUDY_OVERRIDES, correct_counts, records, study, study_argv, study_env, wait_for

from e2e import REPO_ROOT, run_script
from fake_layouts import build_fake_dataset

SLURM_ARGS = ["--executor", "slurm", "--gpus-per-job", "0", "--cpus-per-job", "1", "--time", "30", "--poll", "1",
              "--threads", "1"]


def _slurm_problem() -> str:
    if shutil.which("sbatch") is None:
        return "SLURM is not installed (no sbatch)"
    proc = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    if proc.returncode != 0 or not {"idle", "mixed", "allocated"} & set(proc.stdout.split()):
        return f"no SLURM node is up (sinfo: {(proc.stdout + proc.stderr).strip() or 'nothing'})"
    return ""


@pytest.fixture(scope="module", autouse=True)
def slurm_cluster() -> None:
    """Skip (or, with MOPD_REQUIRE_SLURM=1, fail) when no SLURM cluster answers."""
    problem = _slurm_problem()
    if problem:
        how = ("apt-get install -y slurmctld slurmd slurm-client munge, then bash .ci/slurm/start.sh "
               "starts a one-node cluster")
        if os.environ.get("MOPD_REQUIRE_SLURM") == "1":
            pytest.fail(f"MOPD_REQUIRE_SLURM=1 but {problem}; {how}", pytrace=False)
        pytest.skip(f"{problem}: the SLURM tests need a cluster ({how})")


def test_slurm_job_array_runs_a_whole_study_with_the_numbers_of_the_bash_scripts(data_root, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(data_root, data)
    build_fake_dataset("caltech101", data)  # a second dataset: Caltech101's on-disk layout, generated
    out = str(tmp_path / "out")
    proc = study("run", *SLURM_ARGS, "--methods", "coop", "mopd", "zsclip", "--datasets", "synthetic", "caltech101",
                 "--seeds", "1", "2", "--shots", "4", "--data", str(data), "--output", out, *STUDY_OVERRIDES)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "12 jobs: 0 done, 12 to run" in proc.stdout and "12 of 12 jobs done, 0 failed" in proc.stdout
    array = re.search(r"Submitted 12 jobs as SLURM job (\d+)", proc.stdout).group(1)
    seen = records(out).values()
    assert sorted(r["executor_job_id"] for r in seen) == sorted(f"{array}_{i}" for i in range(12))  # one array
    assert {(r["state"], r["executor"], r["attempt"]) for r in seen} == {("done", "slurm", 1)}
    for dataset in ("synthetic", "Caltech101"):
        for method, cfg in (("ZeroshotCLIP", "vit_b16"), ("CoOp", "vit_b16_ctxv1"), ("MoPD", "vit_b16_ep25_ctxv1")):
            row = next(line for line in proc.stdout.splitlines() if line.startswith(f"| {dataset} | {method} | {cfg} |"))
            assert row.endswith("| 1, 2 |")  # Base, New and HM over both seeds

    # The same runs one by one with the bash scripts (one cell per method) give the same numbers.
    bash_out = str(tmp_path / "bash")
    env = {"DATA": str(data), "OUTPUT": bash_out, "SHOTS": "4"}
    for method, dataset, seed in (("coop", "synthetic", "1"), ("mopd", "caltech101", "2"), ("zsclip", "synthetic", "2")):
        for script in ("base2new_train.sh", "base2new_test.sh"):
            run_script(f"{method}/{script}", [dataset, seed, *STUDY_OVERRIDES], "builtin", str(tmp_path), **env)
    by_bash = correct_counts(bash_out)
    assert len(by_bash) == 6
    assert {path: correct_counts(out)[path] for path in by_bash} == by_bash


def test_slurm_refusing_gpus_on_a_cluster_without_them_advises_gpus_per_job_0(data_root, tmp_path):
    gres = subprocess.run(["sinfo", "-h", "-o", "%G"], capture_output=True, text=True).stdout
    if "gpu" in gres:
        pytest.skip(f"this cluster's nodes have GPUs (sinfo %G: {gres.strip()}); the test needs a cluster without")

    def refusal(*options: str) -> str:
        proc = study("run", "--executor", "slurm", *options, "--methods", "zsclip", "--datasets", "synthetic",
                     "--seeds", "1", "--shots", "4", "--data", data_root, "--output", str(tmp_path / "out"),
                     *STUDY_OVERRIDES)
        assert proc.returncode == 2, proc.stdout[-3000:]
        return proc.stderr.strip().splitlines()[-1]

    gpus = refusal()  # the default: one GPU per job
    assert gpus.startswith("error: SLURM refused the job array (sbatch: error: Invalid generic resource (gres) "
                           "specification); each job asks for 1 GPU (--gpus-per-job, default 1)")
    assert gpus.endswith("pass --gpus-per-job 0 to run the jobs on CPUs, or --partition with one that has GPUs")
    partition = refusal("--gpus-per-job", "0", "--partition", "no-such-partition")  # other refusals: other advice
    assert "invalid partition specified: no-such-partition" in partition and "--gpus-per-job" not in partition
    assert partition.endswith("check --partition, --account, --qos, --time and the site config (--slurm-config)")


def _slurm_state(slurm_id: str) -> str:
    return subprocess.run(["squeue", "-h", "-o", "%T", "-j", slurm_id], capture_output=True, text=True).stdout.strip()


def test_slurm_requeued_and_preempted_jobs_resume_from_their_checkpoints(data_root, tmp_path):
    """Seed 1 is requeued with `scontrol requeue`; seed 2 gets the preemption signal submitit turns into a
    checkpoint and a requeue. Both start again and resume their training where it stopped.

    submitit ignores the SIGTERM of a requeue, so a job goes on until SLURM's SIGKILL after the grace time
    (KillWait: 2 s in .ci/slurm, 30 s by default) and could finish first; the test sends that SIGKILL at
    once, so the first attempt stops mid-run whatever the cluster's grace time."""
    out = str(tmp_path / "out")
    run_dirs = {seed: os.path.join(out, f"base2new/train_base/synthetic/shots_4/CoOp/vit_b16_ctxv1/seed{seed}")
                for seed in (1, 2)}
    # 300 epochs (about 20 s): long enough that both signals land mid-run on a fast machine too
    argv = study_argv("run", *SLURM_ARGS, "--methods", "coop", "--datasets", "synthetic", "--seeds", "1", "2",
                      "--shots", "4", "--data", data_root, "--output", out, *STUDY_OVERRIDES, "OPTIM.MAX_EPOCH", "300")
    with subprocess.Popen(argv, cwd=REPO_ROOT, env=study_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as proc:
        wait_for(lambda: all(os.path.isfile(os.path.join(d, "prompt_learner", "model.pth.tar-3"))
                             for d in run_dirs.values()), 300, "both jobs' third checkpoint")
        running = {seed: records(out)[os.path.relpath(d, out)] for seed, d in run_dirs.items()}
        ids = {seed: record["executor_job_id"] for seed, record in running.items()}
        subprocess.run(["scontrol", "requeue", ids[1]], check=True)
        os.kill(running[1]["pid"], signal.SIGKILL)  # the end of the grace time, now (one node: the job runs here)
        subprocess.run(["scancel", "--signal", "USR2", ids[2]], check=True)  # what SLURM sends before preempting
        wait_for(lambda: all(_slurm_state(i) == "PENDING" for i in ids.values()), 120, "both jobs to be requeued")
        for slurm_id in ids.values():  # SLURM holds a requeued job back for 2 minutes; let it start now
            subprocess.run(["scontrol", "update", f"JobId={slurm_id}", "StartTime=now"], check=True)
        output, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, output[-4000:]
    assert "2 of 2 jobs done, 0 failed" in output
    for seed, run_dir in run_dirs.items():
        record = records(out)[os.path.relpath(run_dir, out)]
        assert (record["state"], record["attempt"]) == ("done", 2)
        first, resumed = sorted(glob.glob(os.path.join(run_dir, "log.txt*")))
        with open(first) as f:
            assert "Elapsed:" not in f.read()  # the first attempt stopped before its end
        with open(resumed) as f:
            text = f.read()
        assert "(will resume training)" in text and "epoch [1/300]" not in text and "epoch [300/300]" in text
    with open(records(out)[os.path.relpath(run_dirs[2], out)]["log"]) as f:
        log = f.read()
    assert "this job is preempted" in log and "Calling checkpoint method" in log  # submitit's requeue
