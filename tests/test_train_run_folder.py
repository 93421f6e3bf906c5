"""train.py's command line: help text."""
from __future__ import annotations

import pytest


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
