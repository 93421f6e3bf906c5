import json
import os
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from e2e import REPO_ROOT, snapshot
from fake_layouts import build_reader, dataset_cfg
from read_only import read_only
from mopd.data import synthetic
from mopd.data.synthetic import CLASSES, generate_synthetic_dataset

SMALL = dict(num_classes=5, train_per_class=6, val_per_class=3, test_per_class=2)


def test_generator_writes_identical_bytes_in_two_different_folders(tmp_path):
    first = generate_synthetic_dataset(str(tmp_path / "a"), **SMALL, seed=3)
    second = generate_synthetic_dataset(str(tmp_path / "b"), **SMALL, seed=3)
    assert first == str(tmp_path / "a" / "synthetic")
    hashes = snapshot(first)
    assert len(hashes) == 5 * 11 + 1
    assert hashes == snapshot(second)
    other_seed = generate_synthetic_dataset(str(tmp_path / "c"), **SMALL, seed=4)
    assert snapshot(other_seed) != hashes


def test_generator_rerun_leaves_existing_identical_files_untouched(tmp_path):
    folder = generate_synthetic_dataset(str(tmp_path), **SMALL)
    stats = {p: os.stat(os.path.join(folder, p)) for p in snapshot(folder)}
    generate_synthetic_dataset(str(tmp_path), **SMALL)
    for rel_path, before in stats.items():
        after = os.stat(os.path.join(folder, rel_path))
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns), rel_path


def test_generator_split_lists_every_image_with_english_class_names(tmp_path):
    folder = generate_synthetic_dataset(str(tmp_path), **SMALL)
    split = json.loads(open(os.path.join(folder, "split_synthetic.json")).read())
    expected_names = [c.name for c in CLASSES[:5]]
    assert expected_names[:3] == ["golden retriever", "tabby cat", "sunflower"]
    for name, per_class in (("train", 6), ("val", 3), ("test", 2)):
        assert Counter((label, cname) for _, label, cname in split[name]) == {
            (label, cname): per_class for label, cname in enumerate(expected_names)
        }
    for rel_path, label, _ in split["train"] + split["val"] + split["test"]:
        assert rel_path.startswith(expected_names[label].replace(" ", "_") + "/")
        with Image.open(os.path.join(folder, "images", rel_path)) as image:
            assert (image.mode, image.size) == ("RGB", (64, 64))
    all_paths = [r[0] for r in split["train"] + split["val"] + split["test"]]
    assert len(set(all_paths)) == len(all_paths)


def _object_colour(path):
    """Mean colour of the pixels that differ clearly from the image's (grey) median."""
    pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64).reshape(-1, 3)
    mask = np.abs(pixels - np.median(pixels, axis=0)).sum(axis=1) > 60
    return pixels[mask].mean(axis=0)


def test_every_class_is_separable_by_the_colour_of_its_object(tmp_path):
    folder = generate_synthetic_dataset(
        str(tmp_path), num_classes=len(CLASSES), train_per_class=4, val_per_class=1, test_per_class=3
    )
    split = json.loads(open(os.path.join(folder, "split_synthetic.json")).read())
    image_dir = os.path.join(folder, "images")
    train = [(_object_colour(os.path.join(image_dir, p)), y) for p, y, _ in split["train"]]
    means = np.stack([np.mean([c for c, y in train if y == label], axis=0) for label in range(len(CLASSES))])
    distances = np.linalg.norm(means[:, None] - means[None], axis=-1) + np.eye(len(CLASSES)) * 1e9
    assert distances.min() > 30
    for rel_path, label, _ in split["test"]:
        colour = _object_colour(os.path.join(image_dir, rel_path))
        assert np.argmin(np.linalg.norm(means - colour, axis=1)) == label, rel_path


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_classes=1), "classes=1 must be between 2 and 20"),
        (dict(num_classes=21), "classes=21 must be between 2 and 20"),
        (dict(val_per_class=0), "must all be at least 1"),
        (dict(seed=-1), "seed=-1"),
    ],
)
def test_generator_rejects_invalid_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate_synthetic_dataset(str(tmp_path), **kwargs)
    assert not (tmp_path / "synthetic").exists()


def test_regenerating_a_different_split_removes_stale_fewshot_caches(tmp_path):
    folder = generate_synthetic_dataset(str(tmp_path), **SMALL)
    cache = os.path.join(folder, "split_fewshot", "shot_2-seed_1.json")
    os.makedirs(os.path.dirname(cache))
    open(cache, "w").write("{}")
    generate_synthetic_dataset(str(tmp_path), **SMALL)
    assert os.path.isfile(cache)
    generate_synthetic_dataset(str(tmp_path), **dict(SMALL, num_classes=4))
    assert not os.path.exists(cache)


def test_command_line_writes_the_dataset_and_says_where(tmp_path, caplog):
    caplog.set_level("INFO")
    synthetic.main(["--root", str(tmp_path), "--classes", "3", "--train-per-class", "2",
                    "--val-per-class", "1", "--test-per-class", "1", "--image-size", "32"])
    split = json.loads((tmp_path / "synthetic" / "split_synthetic.json").read_text())
    assert [len(split[k]) for k in ("train", "val", "test")] == [6, 3, 3]
    with Image.open(tmp_path / "synthetic" / "images" / split["test"][0][0]) as image:
        assert image.size == (32, 32)
    assert str(tmp_path / "synthetic") in caplog.text


def test_command_line_rejects_bad_arguments_with_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        synthetic.main(["--root", str(tmp_path), "--classes", "50"])
    assert exit_info.value.code == 2
    assert "classes=50 must be between 2 and 20" in capsys.readouterr().err


def test_command_line_on_a_file_says_so_in_one_line_and_leaves_the_file(tmp_path):
    file = tmp_path / "data.txt"
    file.write_text("mine")
    proc = _generate_command(["--root", str(file)])
    assert proc.returncode == 2 and proc.stderr == f"error: root {file} is a file; give a folder (it is created if missing)\n"
    assert file.read_text() == "mine"


def test_command_line_on_a_read_only_folder_says_so_in_one_line(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    with read_only(str(folder)) as as_read_only:
        proc = _generate_command(["--root", str(folder), "--classes", "2"], wrap=as_read_only)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith(f"error: cannot write the synthetic dataset to {folder / 'synthetic'} (")
    assert proc.stderr.rstrip().endswith("choose a root folder you can write to")
    assert os.listdir(folder) == []


def test_regenerating_a_complete_dataset_in_a_read_only_folder_succeeds(tmp_path):
    generate_synthetic_dataset(str(tmp_path), **SMALL)
    before = snapshot(tmp_path)
    with read_only(str(tmp_path)) as as_read_only:
        proc = _generate_command(["--root", str(tmp_path), *_SMALL_ARGS], wrap=as_read_only)
    assert proc.returncode == 0, proc.stderr
    assert snapshot(tmp_path) == before


_SMALL_ARGS = ["--classes", "5", "--train-per-class", "6", "--val-per-class", "3", "--test-per-class", "2"]


def _generate_command(args, wrap=lambda command: command) -> subprocess.CompletedProcess:
    """`python -m mopd.data.synthetic ARGS` in a new process (through `wrap`, e.g. with a read-only folder)."""
    return subprocess.run(
        wrap([sys.executable, "-m", "mopd.data.synthetic", *args]),
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )


# The reader in datasets/synthetic.py, built from a yacs config as train.py builds it.


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    generate_synthetic_dataset(str(root), **SMALL)
    return root


@pytest.mark.parametrize(
    "subsample, num_shots, classnames, per_class",
    [
        ("all", -1, [c.name for c in CLASSES[:5]], (6, 3, 2)),
        ("base", -1, [c.name for c in CLASSES[:3]], (6, 3, 2)),
        ("new", -1, [c.name for c in CLASSES[3:5]], (6, 3, 2)),
        ("all", 2, [c.name for c in CLASSES[:5]], (2, 2, 2)),
        ("base", 4, [c.name for c in CLASSES[:3]], (4, 3, 2)),  # val has 3 < min(4, 4) per class
        ("new", 1, [c.name for c in CLASSES[3:5]], (1, 1, 2)),
    ],
)
def test_synthetic_dataset_has_the_right_classes_and_counts(
    data_root, subsample, num_shots, classnames, per_class
):
    dataset = build_reader(dataset_cfg(data_root, "synthetic", shots=num_shots, subsample=subsample))
    assert dataset.num_classes == len(classnames)
    assert dataset.classnames == classnames
    for split, count in zip((dataset.train_x, dataset.val, dataset.test), per_class):
        assert Counter(item.label for item in split) == {label: count for label in range(len(classnames))}
    if num_shots >= 1:
        cache = data_root / "synthetic" / "split_fewshot" / f"shot_{num_shots}-seed_1.json"
        assert cache.is_file()


def test_synthetic_few_shot_train_set_depends_on_the_seed(data_root):
    seed1 = build_reader(dataset_cfg(data_root, "synthetic", shots=2, seed=1)).train_x
    again = build_reader(dataset_cfg(data_root, "synthetic", shots=2, seed=1)).train_x
    seed2 = build_reader(dataset_cfg(data_root, "synthetic", shots=2, seed=2)).train_x
    assert [i.impath for i in seed1] == [i.impath for i in again]
    assert [i.impath for i in seed1] != [i.impath for i in seed2]


def test_synthetic_dataset_without_data_says_how_to_generate_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"python -m mopd.data.synthetic --root {tmp_path}"):
        build_reader(dataset_cfg(tmp_path, "synthetic"))


def test_synthetic_dataset_with_a_deleted_image_names_it(tmp_path):
    folder = generate_synthetic_dataset(str(tmp_path), **SMALL)
    build_reader(dataset_cfg(tmp_path, "synthetic", shots=2))
    victim = os.path.join(folder, "images", "sunflower", "sunflower_0003.png")
    os.remove(victim)
    with pytest.raises(FileNotFoundError, match="sunflower_0003.png"):
        build_reader(dataset_cfg(tmp_path, "synthetic", shots=2))
