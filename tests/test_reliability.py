"""Resume after a kill, finished runs, and the catalogue of bad inputs: one clear message, nothing lost."""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from e2e import REPO_ROOT, TINY, backend_env, config, run_train, snapshot

MOPD_CFG = config("trainers", "MoPD", "vit_b16_ep25_ctxv1.yaml")
COOP_CFG = config("trainers", "CoOp", "vit_b16_ep50_ctxv1.yaml")


def _args(
    data_root: str, out: str, *extra: str, trainer: str = "MoPD", cfg_file: str = MOPD_CFG, flags: tuple = ()
) -> list[str]:
    """train.py arguments: flags first, then the config overrides (`extra` last)."""
    return [
        "--root", data_root, "--seed", "1", "--trainer", trainer,
        "--dataset-config-file", config("datasets", "synthetic.yaml"), "--config-file", cfg_file,
        "--output-dir", out, *flags, *TINY, "DATASET.NUM_SHOTS", "4", "DATASET.SUBSAMPLE_CLASSES", "base",
        "TRAINER.COOP.PREC", "fp32", "DATALOADER.TRAIN_X.BATCH_SIZE", "4", *extra,
    ]


def _final_checkpoint(out: str, epoch: int) -> dict:
    return torch.load(os.path.join(out, "prompt_learner", f"model.pth.tar-{epoch}"), weights_only=True)


def test_run_killed_mid_training_resumes_to_the_same_prompt_and_accuracy(data_root, tmp_path):
    epochs = ["OPTIM.MAX_EPOCH", "6"]
    whole = str(tmp_path / "whole")
    uninterrupted = run_train(_args(data_root, whole, *epochs), "builtin", str(tmp_path))

    killed = str(tmp_path / "killed")
    proc = subprocess.Popen(
        [sys.executable, os.path.join(REPO_ROOT, "train.py"), *_args(data_root, killed, *epochs)],
        cwd=str(tmp_path), env=backend_env("builtin"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    second = os.path.join(killed, "prompt_learner", "model.pth.tar-2")
    deadline = time.monotonic() + 300
    while not os.path.exists(second) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)  # during epoch 3 (or while epoch 2 is being saved)
    proc.wait()
    assert not os.path.exists(os.path.join(killed, "run_finished.json"))

    resumed = run_train(_args(data_root, killed, *epochs), "builtin", str(tmp_path))
    assert "will resume training" in resumed.stdout
    expected, got = _final_checkpoint(whole, 6), _final_checkpoint(killed, 6)
    assert torch.equal(got["state_dict"]["ctx"], expected["state_dict"]["ctx"])
    assert torch.equal(got["state_dict"]["gate.weight"], expected["state_dict"]["gate.weight"])
    assert _accuracy_lines(resumed.stdout) == _accuracy_lines(uninterrupted.stdout)
    # The gate's selection counts of the epochs before the kill come back from the checkpoint.
    assert _gate_stats(killed) == _gate_stats(whole)


def test_number_of_data_workers_does_not_change_the_trained_prompt(data_root, tmp_path):
    runs = {}
    for workers in ("0", "2"):
        out = str(tmp_path / f"workers{workers}")
        run_train(_args(data_root, out, "OPTIM.MAX_EPOCH", "2", "DATALOADER.NUM_WORKERS", workers), "builtin", str(tmp_path))
        runs[workers] = _final_checkpoint(out, 2)
    assert torch.equal(runs["0"]["state_dict"]["ctx"], runs["2"]["state_dict"]["ctx"])
    assert torch.equal(runs["0"]["state_dict"]["gate.weight"], runs["2"]["state_dict"]["gate.weight"])


def _gate_stats(out: str) -> dict:
    with open(os.path.join(out, "gate_stats.json")) as fh:
        return json.load(fh)


def _accuracy_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith(("* correct:", "* accuracy:"))]


def test_finished_run_started_again_does_nothing_and_says_so(data_root, tmp_path):
    out = str(tmp_path / "run")
    run_train(_args(data_root, out, "OPTIM.MAX_EPOCH", "1"), "builtin", str(tmp_path))
    before = snapshot(out)
    again = run_train(_args(data_root, out, "OPTIM.MAX_EPOCH", "1"), "builtin", str(tmp_path))
    assert "A finished run is already in" in again.stdout and "nothing to do" in again.stdout
    assert "epoch [" not in again.stdout
    changed = {path for path in snapshot(out) if not path.startswith("log.txt")} ^ {
        path for path in before if not path.startswith("log.txt")
    }
    assert not changed


@pytest.fixture(scope="module")
def finished_run(data_root, tmp_path_factory) -> str:
    out = str(tmp_path_factory.mktemp("finished") / "run")
    run_train(_args(data_root, out, "OPTIM.MAX_EPOCH", "1"), "builtin", os.path.dirname(out))
    return out


def _fails(args: list[str], cwd: str, *fragments: str) -> str:
    proc = run_train(args, "builtin", cwd, check=False)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith("error: "), proc.stderr[-2000:]
    for fragment in fragments:
        assert fragment in error, error
    assert "Traceback" not in proc.stderr
    return error


def _bad_input_cases(data_root: str, tmp: str, finished: str) -> dict[str, tuple[list[str], tuple[str, ...]]]:
    missing_root = os.path.join(tmp, "no_such_data")
    return {
        "missing data root": (_args(missing_root, os.path.join(tmp, "a")), (missing_root, "python -m mopd.data.synthetic")),
        "unknown trainer": (
            _args(data_root, os.path.join(tmp, "b"), trainer="MoPDD"),
            ("unknown trainer 'MoPDD'", "Did you mean 'MoPD'", "CoCoOp"),
        ),
        "unknown dataset": (_args(data_root, os.path.join(tmp, "c"), "DATASET.NAME", "Caltech"), ("unknown dataset 'Caltech'", "Caltech101")),
        "unknown backbone": (
            _args(data_root, os.path.join(tmp, "d"), "MODEL.BACKBONE.NAME", "ViT-B/61"), ("ViT-B/61", "ViT-B/16"),
        ),
        "unknown config key": (
            _args(data_root, os.path.join(tmp, "e"), "TRAINER.MOPD.TOPK", "2"), ("TRAINER.MOPD.TOPK", "TRAINER.MOPD.TOP_K"),
        ),
        "N_CTX below 1": (_args(data_root, os.path.join(tmp, "f"), "TRAINER.COOP.N_CTX", "0", "TRAINER.COOP.CTX_INIT", ""), ("N_CTX=0",)),
        "TOP_K above the pool": (_args(data_root, os.path.join(tmp, "g"), "TRAINER.MOPD.TOP_K", "13"), ("TOP_K=13", "12")),
        "negative loss weight": (_args(data_root, os.path.join(tmp, "h"), "TRAINER.MOPD.W2", "-0.1"), ("W2=-0.1", ">= 0")),
        "eval without checkpoint": (
            _args(data_root, os.path.join(tmp, "i"), flags=("--eval-only",)), ("--eval-only needs --model-dir",),
        ),
        "eval of a missing epoch": (
            _args(data_root, os.path.join(tmp, "j"), flags=("--eval-only", "--model-dir", finished, "--load-epoch", "7")),
            ("model.pth.tar-7", "['1']"),
        ),
        "checkpoint of another context length": (
            _args(data_root, os.path.join(tmp, "k"), "TRAINER.COOP.CTX_INIT", "a photo of a big",
                  flags=("--eval-only", "--model-dir", finished, "--load-epoch", "1")),
            ("does not fit model",),
        ),
        "checkpoint of another trainer": (
            _args(data_root, os.path.join(tmp, "l"), trainer="CoCoOp",
                  cfg_file=config("trainers", "CoCoOp", "vit_b16_c4_ep10_batch1_ctxv1.yaml"),
                  flags=("--eval-only", "--model-dir", finished, "--load-epoch", "1")),
            ("does not fit model",),
        ),
        "CLIP weights missing": (
            _args(data_root, os.path.join(tmp, "m"), "MODEL.BACKBONE.NAME", "ViT-B/16", "MODEL.BACKBONE.PATH", "/nowhere/ViT-B-16.pt"),
            ("/nowhere/ViT-B-16.pt",),
        ),
        "output directory is a file": (_args(data_root, os.path.join(finished, "log.txt")), ("is a file",)),
        "output directory under a file": (_args(data_root, os.path.join(finished, "log.txt", "sub")), ("not a writable folder",)),
    }


CASES = [
    "missing data root", "unknown trainer", "unknown dataset", "unknown backbone", "unknown config key",
    "N_CTX below 1", "TOP_K above the pool", "negative loss weight", "eval without checkpoint",
    "eval of a missing epoch", "checkpoint of another context length", "checkpoint of another trainer",
    "CLIP weights missing", "output directory is a file", "output directory under a file",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_stops_with_one_clear_message_and_writes_nothing(case, data_root, finished_run, tmp_path):
    args, fragments = _bad_input_cases(data_root, str(tmp_path), finished_run)[case]
    before = snapshot(finished_run)
    _fails(args, str(tmp_path), *fragments)
    assert snapshot(finished_run) == before  # the finished run's files are untouched
    leftovers = [name for name in os.listdir(tmp_path) if len(name) == 1]
    assert not leftovers, f"the failed run left {leftovers} behind"


def test_corrupt_image_is_named_and_earlier_checkpoints_are_kept(data_root, tmp_path):
    import shutil

    root = tmp_path / "data"
    shutil.copytree(data_root, root)
    images = sorted((root / "synthetic" / "images").rglob("*.png"))
    for image in images:
        image.write_bytes(b"not a png")
    out = str(tmp_path / "run")
    _fails(_args(str(root), out), str(tmp_path), "cannot", ".png")


def test_incomplete_dataset_folder_and_split_mismatch_are_named(data_root, tmp_path):
    import shutil

    incomplete = tmp_path / "incomplete"
    shutil.copytree(data_root, incomplete)
    (incomplete / "synthetic" / "split_synthetic.json").unlink()
    _fails(_args(str(incomplete), str(tmp_path / "a")), str(tmp_path), "split_synthetic.json does not exist",
           "python -m mopd.data.synthetic")

    mismatched = tmp_path / "mismatched"
    shutil.copytree(data_root, mismatched)
    missing = sorted((mismatched / "synthetic" / "images").rglob("*.png"))[0]
    missing.unlink()
    _fails(_args(str(mismatched), str(tmp_path / "b")), str(tmp_path), missing.name)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_disk_full_while_saving_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    from mopd.engine import checkpoint

    save_dir = tmp_path / "prompt_learner"
    checkpoint.save_checkpoint({"state_dict": {"ctx": torch.ones(2)}, "epoch": 1}, str(save_dir))
    before = snapshot(str(save_dir))

    def full_disk(obj, path):
        open(path, "wb").write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint.torch, "save", full_disk)
    with pytest.raises(OSError, match="No space left on device.*intact"):
        checkpoint.save_checkpoint({"state_dict": {"ctx": torch.zeros(2)}, "epoch": 2}, str(save_dir))
    assert snapshot(str(save_dir)) == before
