"""train.py on bad inputs about data, weights and config files: one `error:` line that says what to do, nothing lost.

Each test runs the command a user would type and checks the message and that the files already
there (the output folder, the data root, the cache file) are exactly as before.
"""
from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys

import pytest
import torch

from e2e import DASSL_INSTALLED, REPO_ROOT, TINY, backend_env, config, run_train, snapshot
from mopd.clip.backbones import TINY as TINY_CLIP
from mopd.clip.loading import load_clip
from mopd.data.synthetic import generate_synthetic_dataset
from read_only import read_only


def _args(data_root: str, out: str, *extra: str, flags: tuple = ()) -> list[str]:
    """A MoPD base-to-new run on the synthetic data with the tiny CLIP (flags first, overrides last)."""
    return [
        "--root", data_root, "--seed", "1", "--trainer", "MoPD",
        "--dataset-config-file", config("datasets", "synthetic.yaml"),
        "--config-file", config("trainers", "MoPD", "vit_b16_ep25_ctxv1.yaml"), "--output-dir", out, *flags,
        *TINY, "DATASET.NUM_SHOTS", "4", "DATASET.SUBSAMPLE_CLASSES", "base", "OPTIM.MAX_EPOCH", "1", *extra,
    ]


def _error_line(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    """The one `error:` line that ends a failed run; it holds every fragment and no traceback precedes it."""
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr[-3000:]
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("error: "), proc.stderr[-2000:]
    for fragment in fragments:
        assert fragment in line, line
    return line


@pytest.fixture
def kept_output(tmp_path):
    """An output folder that already holds a file of the user's: a failed run must leave it as it was."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    return out


def _tiny_weights(tmp_path, cut: float | None) -> str:
    """The tiny CLIP's state_dict cut to `cut` of its size, or 1000 fixed pseudo-random bytes when `cut` is None."""
    buffer = io.BytesIO()
    torch.save(load_clip(TINY_CLIP).state_dict(), buffer)
    data = buffer.getvalue()
    path = tmp_path / "weights.pt"
    path.write_bytes(random.Random(0).randbytes(1000) if cut is None else data[: int(len(data) * cut)])
    return str(path)


@pytest.mark.parametrize("cut", [None, 0.5], ids=["garbage", "cut at half"])
def test_unreadable_clip_weights_are_named_in_one_line_and_the_output_folder_is_left_as_it_was(
    data_root, tmp_path, kept_output, cut
):
    weights = _tiny_weights(tmp_path, cut)
    before = snapshot(kept_output)
    proc = run_train(_args(data_root, str(kept_output), "MODEL.BACKBONE.PATH", weights), "builtin", str(tmp_path), check=False)
    line = _error_line(proc, weights, "is neither an OpenAI JIT archive nor a torch state_dict", "MODEL.BACKBONE.PATH")
    assert "weights_only" not in line
    assert snapshot(kept_output) == before  # the log.txt of the failed run is gone


@pytest.mark.parametrize("size", ["(32,)", "(32, 32, 3)", "(0, 32)", "(32.5, 32)"])
def test_malformed_input_size_names_the_key_and_the_expected_form(data_root, tmp_path, size):
    out = tmp_path / "out"
    proc = run_train(_args(data_root, str(out), "INPUT.SIZE", size), "builtin", str(tmp_path), check=False)
    _error_line(proc, "INPUT.SIZE=", "expected two positive integers (height, width)", 'INPUT.SIZE "(224, 224)"')
    assert not out.exists()


@pytest.mark.parametrize("flag", ["--config-file", "--dataset-config-file"])
def test_yaml_syntax_error_in_a_config_file_names_the_file_and_the_line(data_root, tmp_path, flag):
    bad = tmp_path / "bad.yaml"
    bad.write_text('DATASET:\n  NAME: "Synthetic"\nOPTIM:\n  LR: [0.002,\n')
    out = tmp_path / "out"
    proc = run_train(_args(data_root, str(out), flags=(flag, str(bad))), "builtin", str(tmp_path), check=False)
    _error_line(proc, "YAML syntax error in ", str(bad), "at line 5, column 1")
    assert not out.exists()


@pytest.fixture
def own_data(tmp_path):
    """A data root of this test alone (4 classes, 8 train / 4 val / 2 test images each)."""
    root = tmp_path / "data"
    generate_synthetic_dataset(str(root), num_classes=4, train_per_class=8, val_per_class=4, test_per_class=2)
    return root


def test_an_empty_fewshot_cache_is_named_with_the_fix_and_left_as_it_is(own_data, tmp_path):
    cache = own_data / "synthetic" / "split_fewshot" / "shot_4-seed_1.json"
    cache.parent.mkdir()
    cache.write_text('{"train": [], "val": []}')
    out = tmp_path / "out"
    proc = run_train(_args(str(own_data), str(out)), "builtin", str(tmp_path), check=False)
    _error_line(proc, f"few-shot cache {cache} holds an empty train split", f"delete {cache} so that it is resampled")
    assert cache.read_text() == '{"train": [], "val": []}' and not out.exists()


@pytest.mark.parametrize("kind", ["folder", "binary"])
def test_a_pool_file_that_is_a_folder_or_binary_is_named(data_root, tmp_path, kind):
    pool = tmp_path / "pool"
    pool.mkdir() if kind == "folder" else pool.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe{}")
    out = tmp_path / "out"
    proc = run_train(
        _args(data_root, str(out), "TRAINER.MOPD.POOL", "file", "TRAINER.MOPD.POOL_FILE", str(pool)),
        "builtin", str(tmp_path), check=False,
    )
    expected = f"{str(pool)!r} is a folder" if kind == "folder" else f"{pool} is not UTF-8 text"
    line = _error_line(proc, "Teacher pool file", expected)
    assert "not found" not in line and not out.exists()


@pytest.mark.parametrize("existing", [False, True])
def test_a_teacher_template_too_long_for_a_class_names_the_pool_and_the_class_and_writes_nothing(
    data_root, tmp_path, existing
):
    pool = tmp_path / "pool.txt"
    template = "a " + "very " * 70 + "photo of a {}."  # the student prompt fits; this teacher prompt cannot
    pool.write_text(template + "\n")
    out = tmp_path / "out"
    if existing:  # a folder that already holds something (another run's files) is left as it was
        out.mkdir()
        (out / "notes.txt").write_text("kept")
    before = snapshot(str(tmp_path))
    proc = run_train(
        _args(data_root, str(out), "TRAINER.MOPD.POOL", "file", "TRAINER.MOPD.POOL_FILE", str(pool), "TRAINER.MOPD.TOP_K", "1"),
        "builtin", str(tmp_path), check=False,
    )
    line = _error_line(proc, f"in the template {template!r} of TRAINER.MOPD.POOL 'file'", "more than CLIP's 77",
                       "shorten the class name")
    assert "the class name '" in line
    assert snapshot(str(tmp_path)) == before


def _python_train(args: list[str], cwd: str, wrap=lambda command: command, **env: str) -> subprocess.CompletedProcess:
    """`python train.py ARGS` in a new process, through `wrap` (what the fork server cannot do: another
    backend, a read-only folder)."""
    return subprocess.run(
        wrap([sys.executable, os.path.join(REPO_ROOT, "train.py"), *args]),
        cwd=cwd, env=backend_env("builtin", **env), capture_output=True, text=True, timeout=600,
    )


@pytest.mark.parametrize(
    "backend, message",
    [
        ("foo", "error: MOPD_BACKEND='foo' is not one of auto, dassl, builtin; set one of them or unset it"),
        pytest.param(
            "dassl", "error: MOPD_BACKEND=dassl but Dassl is not installed",
            marks=pytest.mark.skipif(DASSL_INSTALLED, reason="Dassl is installed here"),
        ),
    ],
)
def test_an_unusable_backend_is_one_line_and_nothing_else(data_root, tmp_path, backend, message):
    out = tmp_path / "out"
    proc = _python_train(_args(data_root, str(out)), str(tmp_path), MOPD_BACKEND=backend)
    assert proc.returncode == 2
    assert proc.stderr.startswith(message) and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    "version, missing, fix",
    [
        ("0.4.3", "", "is not supported: this repository runs on Dassl 0.6.x and 0.5.x"),
        ("0.7.0", "", "is not supported: this repository runs on Dassl 0.6.x and 0.5.x"),
        ("0.6.3", "wilds", "(No module named 'wilds'); `pip install wilds==1.2.2 tabulate` beside it"),
        ("0.5.0", "sklearn.metrics", "(No module named 'sklearn.metrics'); `pip install scikit-learn` beside it"),
    ],
)
def test_a_dassl_that_cannot_run_is_refused_in_one_line_naming_what_to_install(data_root, tmp_path, version, missing,
                                                                              fix):
    checkout = tmp_path / "Dassl.pytorch"
    (checkout / "dassl" / "config").mkdir(parents=True)
    (checkout / "dassl" / "__init__.py").write_text(f'__version__ = "{version}"\n')
    (checkout / "dassl" / "config" / "__init__.py").write_text(
        f'raise ModuleNotFoundError("No module named {missing!r}", name={missing!r})\n' if missing else "")
    out = tmp_path / "out"
    proc = _python_train(_args(data_root, str(out)), str(tmp_path), MOPD_BACKEND="dassl", PYTHONPATH=str(checkout))
    _error_line(proc, f"error: Dassl {version} ({checkout / 'dassl'}) ", fix, "or set MOPD_BACKEND=builtin")
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not out.exists()


def test_a_read_only_data_root_without_the_fewshot_split_names_the_file_and_the_cache_folder_option(own_data, tmp_path):
    before = snapshot(own_data)
    out, cache_dir = tmp_path / "out", tmp_path / "split_cache"
    expected_file = own_data / "synthetic" / "split_fewshot" / "shot_4-seed_1.json"
    with read_only(str(own_data)) as as_read_only:
        refused = _python_train(_args(str(own_data), str(out), flags=("--no-train",)), str(tmp_path), as_read_only)
        _error_line(refused, f"{expected_file} does not exist and cannot be created", "DATASET.SPLIT_CACHE_DIR")
        assert not out.exists()
        elsewhere = _args(str(own_data), str(out), "DATASET.SPLIT_CACHE_DIR", str(cache_dir), flags=("--no-train",))
        taken = _python_train(elsewhere, str(tmp_path), as_read_only)
    assert taken.returncode == 0, taken.stderr[-3000:]
    cached = json.loads((cache_dir / "synthetic" / "split_fewshot" / "shot_4-seed_1.json").read_text())
    assert len(cached["train"]) == 4 * 4
    assert snapshot(own_data) == before


def test_classes_with_fewer_images_than_num_shots_train_on_all_of_them_with_one_warning(own_data, tmp_path):
    out = tmp_path / "out"
    proc = run_train(_args(str(own_data), str(out), "DATASET.NUM_SHOTS", "9"), "builtin", str(tmp_path))
    warnings = [line for line in proc.stdout.splitlines() if "fewer images than DATASET.NUM_SHOTS" in line]
    assert len(warnings) == 1
    assert "train (asked 9): 'golden retriever' (8), 'tabby cat' (8), 'sunflower' (8), 'fire truck' (8)" in warnings[0]
    assert "* accuracy:" in proc.stdout and (out / "run_finished.json").is_file()
    cache = json.loads((own_data / "synthetic" / "split_fewshot" / "shot_9-seed_1.json").read_text())
    assert len(cache["train"]) == 4 * 8  # every image of every class


def _break_split(split_path, case: str) -> list[str]:
    """Edit the synthetic split file as `case` says; the fragments that the error and `check` must hold."""
    split = json.loads(split_path.read_text())
    image, label, name = split["test"][0]
    if case == "image twice":
        split["test"].append([image, label, name])
        expected = [f"{image!r} twice in test (label {label}, {name!r})"]
    elif case == "image under two labels":
        _, other, other_name = split["test"][-1]
        split["test"].append([image, other, other_name])
        expected = [f"{image!r} under two labels: {label} ({name!r}) in test and {other} ({other_name!r}) in test"]
    else:
        first = split["train"][0][2]
        for record in (r for records in split.values() for r in records if r[1] == 1):
            record[2] = first.title()
        expected = [f"classes 0 ({first!r}) and 1 ({first.title()!r}) give CLIP the same text"]
    split_path.write_text(json.dumps(split))
    return expected


@pytest.mark.parametrize("case", ["image twice", "image under two labels", "classes differing in case"])
def test_data_that_cannot_be_told_apart_ends_with_one_error_before_anything_is_written_and_check_reports_it(
    own_data, tmp_path, kept_output, case
):
    split_path = own_data / "synthetic" / "split_synthetic.json"
    expected = _break_split(split_path, case)
    data_before, output_before = snapshot(own_data), snapshot(kept_output)
    proc = run_train(_args(str(own_data), str(kept_output)), "builtin", str(tmp_path), check=False)
    where = str(split_path) if case.startswith("image") else str(own_data / "synthetic" / "images")
    _error_line(proc, where, *expected)
    assert snapshot(kept_output) == output_before and snapshot(own_data) == data_before  # no few-shot cache either

    check = subprocess.run(
        [sys.executable, "-m", "mopd.data", "check", "--root", str(own_data), "synthetic"],
        cwd=str(tmp_path), env=backend_env("builtin"), capture_output=True, text=True, timeout=600,
    )
    assert check.returncode == 1, check.stdout + check.stderr
    assert f"synthetic: NOT READY, 1 problem(s) in {own_data / 'synthetic'}:" in check.stdout
    (problem,) = [line for line in check.stdout.splitlines() if line.startswith("  problem: ")]
    assert problem.startswith(f"  problem: split file {split_path}") and all(f in problem for f in expected), problem
