"""MaPLe, IVLP, PromptSRC, MMRL and MMRL++ through the protocol scripts and a whole study, with their published settings
on the 12-layer tiny CLIP."""
from __future__ import annotations

import subprocess
import sys

import pytest

from e2e import REPO_ROOT, accuracy, run_script
from fake_layouts import build_fake_dataset

# The published configs as they are, but for the backbone and the input size (and the study's epochs).
DEEP_TINY = ["MODEL.BACKBONE.NAME", "tiny12", "INPUT.SIZE", "(32, 32)", "DATALOADER.NUM_WORKERS", "0"]


@pytest.mark.parametrize("method, trainer, setting, epochs", [
    ("maple", "MaPLe", "vit_b16_c2_ep5_batch4_2ctx", 5), ("ivlp", "IVLP", "vit_b16_c2_ep5_batch4_2+2ctx", 5),
    ("promptsrc", "PromptSRC", "vit_b16_c2_ep20_batch4_4+4ctx", 20), ("mmrl", "MMRL", "vit_b16", 10),
    ("mmrlpp", "MMRLpp", "vit_b16", 10),
])
def test_base2new_scripts_run_the_published_setting_end_to_end(method, trainer, setting, epochs, data_root, tmp_path):
    env = {"DATA": data_root, "OUTPUT": str(tmp_path / "out"), "SHOTS": "2"}
    train = run_script(f"{method}/base2new_train.sh", ["synthetic", "1", *DEEP_TINY], "builtin", str(tmp_path), **env)
    run = tmp_path / f"out/base2new/train_base/synthetic/shots_2/{trainer}/{setting}/seed1"
    assert (run / "prompt_learner" / f"model.pth.tar-{epochs}").is_file()  # the published epochs
    assert "* total: 12" in train.stdout  # Base: 3 classes x 4 test images
    test = run_script(f"{method}/base2new_test.sh", ["synthetic", "1", *DEEP_TINY], "builtin", str(tmp_path), **env)
    assert "* total: 12" in test.stdout and 0 <= accuracy(test.stdout) <= 100
    assert "feature_cache" not in {p.name for p in (tmp_path / "out").iterdir()}  # their image features are learned


def test_a_study_of_the_two_tower_methods_on_two_datasets_and_two_seeds_fills_the_base2new_table(data_root, tmp_path):
    data = tmp_path / "data"
    build_fake_dataset("caltech101", data)
    (data / "synthetic").symlink_to(f"{data_root}/synthetic")
    args = ["run", "--executor", "local", "--jobs", "2", "--methods", "maple", "ivlp", "promptsrc", "mmrl",
            "--datasets", "synthetic", "caltech101", "--seeds", "1", "2", "--shots", "2", "--data", str(data), "--output", str(tmp_path / "out"),
            *DEEP_TINY, "OPTIM.MAX_EPOCH", "1"]
    proc = subprocess.run([sys.executable, "-m", "mopd.study", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    table = subprocess.run([sys.executable, "-m", "mopd.results", str(tmp_path / "out")], cwd=REPO_ROOT,
                           capture_output=True, text=True, check=True).stdout
    for dataset in ("synthetic", "Caltech101"):
        for trainer in ("IVLP", "MaPLe", "MMRL", "PromptSRC"):
            row = next(line for line in table.splitlines() if line.startswith(f"| {dataset} | {trainer} |"))
            cells = [cell.strip() for cell in row.strip("|").split("|")]
            assert cells[-1] == "1, 2", row  # both seeds aggregated
            assert all(cell and cell != "-" for cell in cells), row  # Base, New and HM filled
