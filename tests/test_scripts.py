"""End-to-end runs of the bash protocol scripts with the tiny CLIP, from a directory outside the repo."""
from __future__ import annotations

import glob
import os
import re
import subprocess
import sys

import pytest
import yaml

from e2e import BACKENDS, REPO_ROOT, TINY, accuracy, run_script

FAST = [*TINY, "OPTIM.MAX_EPOCH", "2", "DATALOADER.TRAIN_X.BATCH_SIZE", "16"]


def _correct(stdout: str) -> int:
    return int(re.findall(r"^\* correct: (\d+)$", stdout, flags=re.M)[-1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_mopd_base2new_scripts_train_test_skip_finished_runs_and_tabulate(backend, data_root, tmp_path):
    env = {"DATA": data_root, "OUTPUT": str(tmp_path / "out"), "SHOTS": "4"}
    cwd = str(tmp_path)
    train = run_script("mopd/base2new_train.sh", ["synthetic", "1", *FAST], backend, cwd, **env)
    assert "Train into" in train.stdout
    base_dir = tmp_path / "out/base2new/train_base/synthetic/shots_4/MoPD/vit_b16_ep25_ctxv1/seed1"
    assert (base_dir / "prompt_learner" / "model.pth.tar-2").is_file()
    test = run_script("mopd/base2new_test.sh", ["synthetic", "1", *FAST], backend, cwd, **env)
    assert "* total: 12" in test.stdout  # 3 new classes x 4 test images
    base, new = (100 * _correct(proc.stdout) / 12 for proc in (train, test))
    assert accuracy(test.stdout) == pytest.approx(new, abs=0.05)

    again = run_script("mopd/base2new_train.sh", ["synthetic", "1", *FAST], backend, cwd, **env)
    assert "Skip: a finished training run" in again.stdout
    assert "Skip: a finished evaluation" in run_script("mopd/base2new_test.sh", ["synthetic", "1", *FAST], backend, cwd, **env).stdout
    assert len(glob.glob(str(base_dir / "log.txt*"))) == 1  # nothing re-run, nothing overwritten
    other = run_script("mopd/base2new_train.sh", ["synthetic", "1", *FAST, "OPTIM.LR", "0.01"], backend, cwd,
                       check=False, **env)
    assert other.returncode == 2 and "OPTIM.LR 0.002 -> 0.01" in other.stderr, other.stderr[-2000:]
    assert "a protocol script: ALLOW_SETTINGS_CHANGE=1" in other.stderr  # a way forward the script takes
    assert len(glob.glob(str(base_dir / "log.txt*"))) == 1  # a run with other settings is refused, not skipped
    allowed = run_script("mopd/base2new_train.sh", ["synthetic", "1", *FAST, "OPTIM.LR", "0.01"], backend, cwd,
                         ALLOW_SETTINGS_CHANGE="1", **env)
    assert "Skip: a finished training run" in allowed.stdout  # accepted as it is, not retrained
    assert len(glob.glob(str(base_dir / "log.txt*"))) == 1

    table = subprocess.run(
        [sys.executable, "-m", "mopd.results", str(tmp_path / "out")], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    row = next(line for line in table.splitlines() if line.startswith("| synthetic | MoPD"))
    assert f"| {base:.2f} | {new:.2f} |" in row  # the table recomputes accuracy from the counts


def test_crashed_training_run_is_not_skipped(data_root, tmp_path):
    env = {"DATA": data_root, "OUTPUT": str(tmp_path / "out"), "SHOTS": "4"}
    run_dir = tmp_path / "out/base2new/train_base/synthetic/shots_4/CoOp/vit_b16_ctxv1/seed1"
    run_dir.mkdir(parents=True)
    (run_dir / "log.txt").write_text("epoch [1/2] batch [1/1] ...\n")  # a run killed before its end
    proc = run_script("coop/base2new_train.sh", ["synthetic", "1", *FAST], "builtin", str(tmp_path), **env)
    assert "Train into" in proc.stdout
    assert (run_dir / "prompt_learner" / "model.pth.tar-2").is_file()


def test_unknown_dataset_names_the_valid_ones(tmp_path):
    proc = subprocess.run(
        ["bash", os.path.join(REPO_ROOT, "scripts", "mopd", "base2new_train.sh"), "caltech", "1"],
        cwd=str(tmp_path), capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert "unknown dataset 'caltech'" in proc.stderr and "caltech101" in proc.stderr


def test_demo_runs_the_whole_pipeline_offline_and_learns(tmp_path):
    proc = run_script("mopd/demo.sh", [], "builtin", str(tmp_path), OUTPUT=str(tmp_path / "out"))
    row = next(line for line in proc.stdout.splitlines() if line.startswith("| synthetic | MoPD | vit_b16_ep25_ctxv1 | 16 |"))
    base, new = (float(cell) for cell in row.split("|")[5:7])
    assert base > 60 and new > 60  # 5 classes each: chance is 20% (measured: 100 and 90)
    assert "## Missing / incomplete runs\n\nNone." in proc.stdout


def test_base2new_protocol_on_a_fake_caltech101_layout_ends_with_the_results_table(tmp_path):
    from fake_layouts import build_fake_dataset

    build_fake_dataset("caltech101", tmp_path / "data")
    env = {"DATA": str(tmp_path / "data"), "OUTPUT": str(tmp_path / "out"), "SHOTS": "2", "SEEDS": "1 2",
           "DATASETS": "caltech101"}
    proc = run_script("run_protocol.sh", ["coop", "base2new", *FAST], "builtin", str(tmp_path), **env)
    row = next(line for line in proc.stdout.splitlines() if line.startswith("| Caltech101 | CoOp"))
    assert row.endswith("| 1, 2 |")  # two seeds aggregated
    assert "incomplete: missing" in proc.stdout  # the 11-dataset average names the 10 datasets not run


def test_num_shots_override_puts_the_run_under_its_own_shots_folder(data_root, tmp_path):
    out = tmp_path / "out"
    run_script("mopd/base2new_train.sh", ["synthetic", "1", *FAST, "DATASET.NUM_SHOTS", "4"], "builtin", str(tmp_path),
               DATA=data_root, OUTPUT=str(out))
    runs = out / "base2new/train_base/synthetic"
    assert sorted(p.name for p in runs.iterdir()) == ["shots_4"]
    assert (runs / "shots_4/MoPD/vit_b16_ep25_ctxv1/seed1/run_finished.json").is_file()
    plan = subprocess.run(
        [sys.executable, "-m", "mopd.study", "plan", "--methods", "mopd", "--datasets", "synthetic", "--seeds", "1",
         "--data", data_root, "--output", str(out)], cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    ).stdout
    assert "to run: base2new/train_base/synthetic/shots_16/MoPD/vit_b16_ep25_ctxv1/seed1" in plan  # not "finished"


def test_override_of_a_key_the_run_folder_encodes_is_refused_before_anything_is_written(data_root, tmp_path):
    proc = subprocess.run(
        ["bash", os.path.join(REPO_ROOT, "scripts", "coop", "base2new_train.sh"), "synthetic", "1", "SEED", "3"],
        cwd=str(tmp_path), capture_output=True, text=True, env=dict(os.environ, DATA=data_root, OUTPUT=str(tmp_path / "out")),
    )
    assert proc.returncode == 2
    assert "error: SEED cannot be overridden here" in proc.stderr and "SEED argument of the script" in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("dataset, epochs", [("caltech101", 200), ("imagenet", 50)])
def test_coop_base2new_script_trains_with_cocoops_published_schedule(dataset, epochs, tmp_path):
    """The config train.py printed, before it stopped at the missing dataset: CoCoOp's protocol for CoOp."""
    proc = subprocess.run(
        ["bash", os.path.join(REPO_ROOT, "scripts", "coop", "base2new_train.sh"), dataset, "1"],
        cwd=str(tmp_path), capture_output=True, text=True,
        env=dict(os.environ, DATA=str(tmp_path / "data"), OUTPUT=str(tmp_path / "out"), MOPD_BACKEND="builtin"),
    )
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    printed = yaml.safe_load(proc.stdout.split("** Config **")[1].split("** System info **")[0])
    assert printed["OPTIM"]["MAX_EPOCH"] == epochs and printed["DATALOADER"]["TRAIN_X"]["BATCH_SIZE"] == 32
    assert printed["OUTPUT_DIR"].endswith(f"base2new/train_base/{dataset}/shots_16/CoOp/vit_b16_ctxv1/seed1")
