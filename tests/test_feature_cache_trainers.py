"""Trainers with the evaluation feature cache: the same results as without it on both backends, misses, damage, `cache-features`."""
from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import sys

import pytest
import torch
from PIL import Image

import datasets  # noqa: F401  (registers the datasets)
import trainers  # noqa: F401  (registers the trainers)
from e2e import BACKENDS, TINY, accuracy, backend_env, config, run_train, snapshot
from mopd.backend import build_trainer
from mopd.clip.loading import load_clip
from mopd.config.defaults import get_cfg
from mopd.cli.data import main as data_main
from mopd.feature_cache.file_format import read_feature_file
from mopd.feature_cache.store import FeatureStore

PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "feature_cache_probe.py")
TEST_IMAGES = 24  # the session dataset: 6 classes x 4 test images


def _probe(backend: str, data_root: str, work: str, *precisions: str) -> dict:
    proc = subprocess.run([sys.executable, PROBE, data_root, work, *precisions], env=backend_env(backend),
                          capture_output=True, text=True, timeout=600)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("PROBE ")]
    assert proc.returncode == 0 and lines, f"probe failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1][len("PROBE "):])


@pytest.mark.parametrize("backend", BACKENDS)
def test_cached_evaluation_equals_uncached_evaluation_for_every_trainer(backend, data_root, tmp_path):
    report = _probe(backend, data_root, str(tmp_path), "fp32", "fp16")
    assert report["backend"] == backend
    for prec, dtype in (("fp32", "torch.float32"), ("fp16", "torch.float16")):
        _check_trainers(report[prec], dtype)


def _check_trainers(report: dict, dtype: str) -> None:
    assert not report["cache_folder_after_off"]  # with the cache off nothing is written
    learned = sorted(name for name, modes in report["trainers"].items() if not modes["on"]["frozen_image_features"])
    assert learned == ["IVLP", "MMRL", "MMRLpp", "MaPLe", "PromptSRC"]  # the trainers that prompt the image tower say so
    first, *others = sorted(set(report["trainers"]) - set(learned))
    for name, modes in report["trainers"].items():
        off, on = modes["off"], modes["on"]
        assert off["encoder_images"] == off["samples_read"] == TEST_IMAGES
        assert off["dtype"] == dtype
        assert on["logits"] == off["logits"], name
        if name != "LinearProbeCLIP":  # evaluation classifies as the training forward does, prompted towers included
            torch.testing.assert_close(torch.tensor(off["forward_logits"]), torch.tensor(off["logits"]),
                                       rtol=1e-5 if dtype == "torch.float32" else 2e-3, atol=1e-5, msg=name)
        assert on["y_pred"] == off["y_pred"] and on["y_true"] == off["y_true"], name
        assert on["results"]["accuracy"] == off["results"]["accuracy"], name
        assert on["results"]["macro_f1"] == off["results"]["macro_f1"], name
        if name not in learned:  # the cache holds, bit for bit, the features the uncached evaluation computed
            assert on["stored_features"] == off["encoded_features"], name
    # the first trainer fills the cache; every other one reads it: no image read, no encoder call
    assert report["trainers"][first]["on"]["encoder_images"] == TEST_IMAGES
    for name in others:
        assert report["trainers"][name]["on"]["encoder_images"] == 0, name
        assert report["trainers"][name]["on"]["samples_read"] == 0, name
    # a prompted image tower encodes every image with its prompts and never reads or writes the cache
    for name in learned:
        assert report["trainers"][name]["on"]["encoder_images"] == TEST_IMAGES, name
        assert report["trainers"][name]["on"]["stored_features"] is None, name
    assert report["cached_backbones"] == ["tiny"]  # the two-tower trainers run on tiny12: no file of theirs


def _zero_shot(data_root: str, out: str, cache: str, *opts):
    cfg = get_cfg()
    cfg.merge_from_file(config("datasets", "synthetic.yaml"))
    cfg.merge_from_file(config("trainers", "CoOp", "vit_b16.yaml"))
    cfg.merge_from_list(["DATASET.ROOT", data_root, "OUTPUT_DIR", out, "TRAINER.NAME", "ZeroshotCLIP", *TINY,
                         "TEST.FEATURE_CACHE.DIR", cache, *opts])
    cfg.freeze()
    return build_trainer(cfg)


def _images_encoded(trainer) -> list[int]:
    encoded: list[int] = []
    trainer.model.image_encoder.register_forward_hook(lambda module, inputs, output: encoded.append(len(output)))
    return encoded


def test_a_truncated_cache_file_is_reported_and_recomputed_by_the_evaluation(data_root, tmp_path, caplog):
    cache = str(tmp_path / "cache")
    first = _zero_shot(data_root, str(tmp_path / "a"), cache)
    accuracy = first.test()
    (path,) = [entry.path for entry in FeatureStore(cache).entries()]
    os.truncate(path, os.path.getsize(path) // 2)

    second = _zero_shot(data_root, str(tmp_path / "b"), cache)
    encoded = _images_encoded(second)
    with caplog.at_level(logging.WARNING):
        assert second.test() == accuracy
    assert "Damaged feature cache file, recomputing it" in caplog.text and path in caplog.text
    assert sum(encoded) == TEST_IMAGES
    header, features = read_feature_file(path)  # whole again
    assert features.shape[0] == TEST_IMAGES


def test_a_test_loader_in_random_order_is_evaluated_from_its_images_with_one_warning(data_root, tmp_path, caplog):
    cache = str(tmp_path / "cache")
    expected = _zero_shot(data_root, str(tmp_path / "sequential"), str(tmp_path / "other-cache")).test()
    shuffled = _zero_shot(data_root, str(tmp_path / "random"), cache, "DATALOADER.TEST.SAMPLER", "RandomSampler")
    encoded = _images_encoded(shuffled)
    with caplog.at_level(logging.WARNING):
        assert [shuffled.test(), shuffled.test()] == [expected, expected]
    warning = ("The test split is evaluated from its images, not the feature cache: its sampler is RandomSampler, "
               "not SequentialSampler (DATALOADER.TEST.SAMPLER)")
    assert caplog.text.count(warning) == 1
    assert sum(encoded) == 2 * TEST_IMAGES and not os.path.exists(cache)


def test_cache_features_refuses_a_test_loader_in_random_order(data_root, tmp_path, capsys):
    cache = tmp_path / "cache"
    code = data_main(["cache-features", "Synthetic", "--root", data_root, "--config-file",
                      config("trainers", "CoOp", "vit_b16.yaml"), "--dir", str(cache), *TINY,
                      "DATALOADER.TEST.SAMPLER", "RandomSampler"])
    assert code == 1 and not cache.exists()
    assert ("error: cannot cache the test split of Synthetic: its sampler is RandomSampler, not SequentialSampler "
            "(DATALOADER.TEST.SAMPLER); evaluations read the cache only with DATALOADER.TEST.SAMPLER "
            "SequentialSampler (the default)") in capsys.readouterr().out


def test_changing_the_clip_weights_or_the_precision_of_a_run_misses_the_cache(data_root, tmp_path):
    cache = str(tmp_path / "cache")
    weights = str(tmp_path / "tiny.pt")
    state = load_clip("tiny").state_dict()
    state["visual.proj"] = state["visual.proj"] * 2  # other weights, same architecture
    torch.save(state, weights)
    runs = {
        "first": (), "again": (), "precision": ("TRAINER.COOP.PREC", "fp32"), "weights": ("MODEL.BACKBONE.PATH", weights),
    }
    encoded = {}
    for name, opts in runs.items():
        trainer = _zero_shot(data_root, str(tmp_path / name), cache, *opts)
        counts = _images_encoded(trainer)
        trainer.test()
        encoded[name] = sum(counts)
    assert encoded == {"first": TEST_IMAGES, "again": 0, "precision": TEST_IMAGES, "weights": TEST_IMAGES}
    assert len(FeatureStore(cache).entries()) == 3


@pytest.mark.parametrize("backend", BACKENDS)
def test_cache_features_fills_the_cache_that_train_py_then_reads(backend, data_root, tmp_path, capsys):
    cache = str(tmp_path / "cache")
    trainer_cfg = config("trainers", "CoOp", "vit_b16.yaml")
    fill = subprocess.run(
        [sys.executable, "-m", "mopd.data", "cache-features", "Synthetic", "--root", data_root, "--config-file",
         trainer_cfg, "--subsample", "base", "new", "--dir", cache, *TINY],
        env=backend_env(backend), capture_output=True, text=True, timeout=600,
    )
    assert fill.returncode == 0, fill.stdout[-3000:] + fill.stderr[-3000:]
    assert fill.stdout.count("computed and stored in the feature cache") == 2
    assert data_main(["cache-features", "--status", "--dir", cache]) == 0
    status = capsys.readouterr().out
    assert "Synthetic test (base)" in status and "Synthetic test (new)" in status
    assert "12 x 64 float16" in status and "2 file(s)" in status

    args = ["--root", data_root, "--trainer", "ZeroshotCLIP", "--dataset-config-file", config("datasets", "synthetic.yaml"),
            "--config-file", trainer_cfg, "--output-dir", str(tmp_path / "zs"), "--eval-only", *TINY,
            "DATASET.SUBSAMPLE_CLASSES", "new", "TEST.FEATURE_CACHE.DIR", cache]
    run = run_train(args, backend, str(tmp_path))
    assert "Image features of the test split (12 x 64, float16) read from the feature cache" in run.stdout
    assert "* total: 12" in run.stdout


# --- images replaced behind the cache's back, --status and --prune ---------------------------------------------


def _test_images(data: str) -> dict[int, list[str]]:
    """The test image paths of the synthetic dataset under `data`, by label."""
    with open(os.path.join(data, "synthetic", "split_synthetic.json")) as handle:
        split = json.load(handle)
    images: dict[int, list[str]] = {}
    for relative, label, _ in split["test"]:
        images.setdefault(label, []).append(os.path.join(data, "synthetic", "images", relative))
    return images


def _replace_keeping_size_and_times(path: str, source: str) -> None:
    """Overwrite `path` with the picture of `source`, padded to the same byte count, then set its times back (`cp -p`)."""
    before = os.stat(path)
    picture = Image.open(source).convert("RGB")
    buffer = io.BytesIO()
    picture.resize((picture.width // 2, picture.height // 2)).save(buffer, format="PNG")
    data = buffer.getvalue()
    assert len(data) < before.st_size
    with open(path, "wb") as handle:
        handle.write(data + bytes(before.st_size - len(data)))  # PNG readers stop at IEND
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def _eval_args(data: str, out: str, cache: str, *opts: str) -> list[str]:
    return ["--root", data, "--trainer", "ZeroshotCLIP", "--dataset-config-file", config("datasets", "synthetic.yaml"),
            "--config-file", config("trainers", "CoOp", "vit_b16.yaml"), "--output-dir", out, "--eval-only", *TINY,
            "TEST.FEATURE_CACHE.DIR", cache, *opts]


def _result_block(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(("* total:", "* correct:", "* accuracy:", "* macro_f1:"))]


def _cache_files(cache: str) -> set[str]:
    return {os.path.relpath(os.path.join(folder, name), cache) for folder, _, names in os.walk(cache) for name in names}


def test_images_replaced_with_size_and_times_kept_miss_the_cache_then_prune_removes_the_old_file(data_root, tmp_path,
                                                                                                   capsys):
    data, cache = str(tmp_path / "data"), str(tmp_path / "cache")
    shutil.copytree(data_root, data)
    first = run_train(_eval_args(data, str(tmp_path / "first"), cache), "builtin", str(tmp_path))
    base = run_train(_eval_args(data, str(tmp_path / "base"), cache, "DATASET.SUBSAMPLE_CLASSES", "base"), "builtin",
                     str(tmp_path))
    for run in (first, base):
        assert "computed and stored in the feature cache" in run.stdout
    (old,) = [e.path for e in FeatureStore(cache).entries() if e.header["key"]["subsample"] == "all"]
    images = _test_images(data)
    for label in (3, 4, 5):  # the "new" half: the base split keeps its images
        for path, source in zip(images[label], images[label - 3]):
            _replace_keeping_size_and_times(path, source)

    cached = run_train(_eval_args(data, str(tmp_path / "cached"), cache), "builtin", str(tmp_path))
    uncached = run_train(_eval_args(data, str(tmp_path / "uncached"), cache, "TEST.FEATURE_CACHE.ENABLED", "False"),
                         "builtin", str(tmp_path))
    assert "computed and stored in the feature cache" in cached.stdout  # a miss, not the old features
    assert _result_block(cached.stdout) == _result_block(uncached.stdout)
    assert accuracy(cached.stdout) == accuracy(uncached.stdout)
    (new,) = [e.path for e in FeatureStore(cache).entries() if e.header["key"]["subsample"] == "all" and e.path != old]

    capsys.readouterr()
    assert data_main(["cache-features", "--status", "--dir", cache]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if ".feat" in line]
    rel = {name: os.path.relpath(path, cache) for name, path in (("old", old), ("new", new))}
    (old_line,) = [line for line in lines if rel["old"] in line]
    assert old_line.endswith("OBSOLETE: its images changed after it was written (same paths, other bytes)")
    assert len(lines) == 3 and sum("OBSOLETE" in line for line in lines) == 1  # the new file and the base split: kept

    before = _cache_files(cache)
    assert data_main(["cache-features", "--prune", "--dir", cache]) == 0
    pruned = capsys.readouterr().out
    assert f"removed {rel['old']}  (its images changed after it was written (same paths, other bytes))" in pruned
    assert "1 file(s) removed" in pruned and " freed, in " in pruned
    assert before - _cache_files(cache) == {rel["old"]} and not _cache_files(cache) - before  # nothing else
    again = run_train(_eval_args(data, str(tmp_path / "again"), cache), "builtin", str(tmp_path))
    assert "read from the feature cache" in again.stdout and _result_block(again.stdout) == _result_block(uncached.stdout)


def test_commands_stopped_by_an_error_leave_the_cache_as_it_was(data_root, tmp_path, capsys):
    data, cache = str(tmp_path / "data"), str(tmp_path / "cache")
    shutil.copytree(data_root, data)
    run_train(_eval_args(data, str(tmp_path / "first"), cache), "builtin", str(tmp_path))
    before = snapshot(cache)
    for argv in (["--prune", "Synthetic"], ["--status", "--prune"], ["--prune", "TEST.FEATURE_CACHE.DIR", cache]):
        assert data_main(["cache-features", *argv, "--dir", cache]) == 1, argv
        assert capsys.readouterr().out.count("error:") == 1
    assert data_main(["cache-features", "--prune", "--dir", str(tmp_path / "typo")]) == 1
    assert "error: no feature cache folder" in capsys.readouterr().out and not os.path.exists(tmp_path / "typo")

    with open(_test_images(data)[0][0], "wb") as handle:
        handle.write(b"not a picture")
    for folder in (cache, str(tmp_path / "new-cache")):  # a cache that holds files, and one that does not exist yet
        broken = run_train(_eval_args(data, str(tmp_path / "broken"), folder), "builtin", str(tmp_path), check=False)
        assert broken.returncode == 2 and broken.stderr.count("error:") == 1, broken.stderr
    assert snapshot(cache) == before and not os.path.exists(tmp_path / "new-cache")
