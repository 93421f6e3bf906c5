"""train.py and its run folder: settings that cannot make a run are refused."""
from __future__ import annotations

import os

import pytest

from e2e import BACKENDS, run_train
from test_reliability import _args, _fails, _snapshot


@pytest.fixture(scope="module", params=BACKENDS)
def finished(request, data_root, tmp_path_factory) -> tuple[str, str]:
    """(backend, folder) of a finished two-epoch MoPD run."""
    out = str(tmp_path_factory.mktemp(f"finished_{request.param}") / "run")
    run_train(_args(data_root, out, "OPTIM.MAX_EPOCH", "2"), request.param, os.path.dirname(out))
    return request.param, out


@pytest.mark.parametrize("key", ["OPTIM.MAX_EPOCH", "DATALOADER.TRAIN_X.BATCH_SIZE", "DATALOADER.TEST.BATCH_SIZE"])
def test_run_length_and_batch_sizes_below_one_are_refused_naming_the_key(key, finished, data_root, tmp_path):
    _, run = finished
    before = _snapshot(run)
    _fails(_args(data_root, str(tmp_path / "new"), key, "0"), str(tmp_path), f"{key}=0 must be >= 1")
    _fails(_args(data_root, run, key, "0"), str(tmp_path), f"{key}=0 must be >= 1")
    assert not (tmp_path / "new").exists() and _snapshot(run) == before


def test_help_prints_the_example_on_separate_lines(capsys):
    import train

    with pytest.raises(SystemExit) as exit_info:
        train.parse_args(["--help"])
    assert exit_info.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    for expected in (
        "    python train.py --trainer MoPD --root $DATA --seed 1 \\",
        "        --dataset-config-file configs/datasets/caltech101.yaml \\",
        "        --output-dir output/caltech101 DATASET.NUM_SHOTS 16 DATASET.SUBSAMPLE_CLASSES base",
    ):
        assert expected in lines
