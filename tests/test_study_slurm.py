"""`python -m mopd.study run --executor slurm` on a real one-node SLURM cluster (.ci/slurm/start.sh).

Skipped, with the reason, where SLURM is not running; CI starts the cluster and sets MOPD_REQUIRE_SLURM=1,
which turns that skip into a failure.
"""
from __future__ import annotations

import glob
import os
import re
import shutil
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


def test_slurm_requeued_job_resumes_from_its_checkpoint(data_root, tmp_path):
    out = str(tmp_path / "out")
    run_dir = os.path.join(out, "base2new/train_base/synthetic/shots_4/CoOp/vit_b16_ctxv1/seed1")
    job_id = os.path.relpath(run_dir, out)
    argv = study_argv("run", *SLURM_ARGS, "--methods", "coop", "--datasets", "synthetic", "--seeds", "1",
                      "--shots", "4", "--data", data_root, "--output", out, *STUDY_OVERRIDES, "OPTIM.MAX_EPOCH", "60")
    with subprocess.Popen(argv, cwd=REPO_ROOT, env=study_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as proc:
        wait_for(lambda: os.path.isfile(os.path.join(run_dir, "prompt_learner", "model.pth.tar-3")), 300,
                 "the third epoch's checkpoint")
        slurm_id = records(out)[job_id]["executor_job_id"]
        subprocess.run(["scontrol", "requeue", slurm_id], check=True)
        wait_for(lambda: subprocess.run(["squeue", "-h", "-o", "%T", "-j", slurm_id], capture_output=True,
                                        text=True).stdout.strip() == "PENDING", 120, "the requeued job to be pending")
        # SLURM holds a requeued job back for 2 minutes by default; let it start again now
        subprocess.run(["scontrol", "update", f"JobId={slurm_id}", "StartTime=now"], check=True)
        output, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, output[-4000:]
    assert records(out)[job_id]["attempt"] == 2
    first, resumed = sorted(glob.glob(os.path.join(run_dir, "log.txt*")))
    with open(first) as f:
        assert "Elapsed:" not in f.read()  # the first attempt was stopped before its end
    with open(resumed) as f:
        text = f.read()
    assert "(will resume training)" in text and "epoch [1/60]" not in text and "epoch [60/60]" in text
    assert os.path.isfile(os.path.join(run_dir, "run_finished.json"))
