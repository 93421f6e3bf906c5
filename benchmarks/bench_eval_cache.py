"""Evaluation feature cache: a split's second evaluation against its first, and a base-to-new study's encoder passes.

    python benchmarks/bench_eval_cache.py                  # cpu preset: ViT-B/16 (random weights), 2000 test images at 224 px
    python benchmarks/bench_eval_cache.py --preset smoke   # tiny CLIP on 32 px images, seconds (tests run it)

Two cases, each measured side by side in one run with the trainers as train.py builds them:
- "repeat": CoOp evaluates the test split in a fresh trainer twice (a new run each time, the cache
  empty before the first); build and test are timed, and the predictions must be the same.
- "study": a base-to-new study (6 methods x 3 seeds, base and new test splits: 36 evaluations) with
  the cache off, then on; a hook on the image encoder counts the images it encodes, in passes over a split.
One JSON line per case (also appended to --out), then a line with the targets.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

import datasets  # noqa: E402,F401
import trainers  # noqa: E402,F401
from mopd.backend import build_trainer, set_random_seed  # noqa: E402
from mopd.config.defaults import get_cfg  # noqa: E402
from mopd.data.synthetic import generate_synthetic_dataset  # noqa: E402
from mopd.feature_cache.key import module_weights_digest  # noqa: E402

from bench_trainer_step import CONFIGS as TRAINED_CONFIGS, REPO  # noqa: E402

CONFIGS = {**TRAINED_CONFIGS, "ZeroshotCLIP": "CoOp/vit_b16.yaml"}
SEEDS = (1, 2, 3)
SUBSETS = ("base", "new")


@dataclass(frozen=True)
class Preset:
    """What a preset builds: the backbone, the image side and the two generated datasets."""

    backbone: list  # MODEL.BACKBONE overrides
    image_size: int
    classes: int  # "repeat" dataset
    test_per_class: int
    study_classes: int  # "study" dataset (base: the first half of the classes, new: the rest)
    study_test_per_class: int


PRESETS = {
    "cpu": Preset(["MODEL.BACKBONE.NAME", "ViT-B/16", "MODEL.BACKBONE.RANDOM_INIT", True], 224, 20, 100, 10, 2),
    "smoke": Preset(["MODEL.BACKBONE.NAME", "tiny"], 32, 10, 4, 4, 2),
}


def _build(name: str, data_root: str, preset: Preset, cache_dir: str, *opts):
    cfg = get_cfg()
    cfg.merge_from_file(os.path.join(REPO, "configs", "datasets", "synthetic.yaml"))
    cfg.merge_from_file(os.path.join(REPO, "configs", "trainers", CONFIGS[name]))
    cfg.merge_from_list([
        "DATASET.ROOT", data_root, "OUTPUT_DIR", os.path.join(cache_dir, "runs"), "TRAINER.NAME", name, "SEED", 1,
        *preset.backbone, "INPUT.SIZE", (preset.image_size, preset.image_size), "TRAINER.COOP.PREC", "fp32",
        "DATALOADER.NUM_WORKERS", 1, "DATALOADER.TEST.BATCH_SIZE", 100, "TEST.FEATURE_CACHE.DIR", cache_dir,
        "USE_CUDA", False, *opts,
    ])
    cfg.freeze()
    set_random_seed(cfg.SEED)  # as train.py does: the prompt (CoCoOp's meta-net) starts from the run's seed
    return build_trainer(cfg)


def _timed(function):
    start = time.perf_counter()
    value = function()
    return value, time.perf_counter() - start


def _encoded_images(trainer) -> list[int]:
    counts: list[int] = []
    trainer.model.image_encoder.register_forward_hook(lambda module, inputs, output: counts.append(len(output)))
    return counts


def repeat_case(data_root: str, preset: Preset, work: str) -> dict:
    """The same split evaluated by two fresh CoOp runs: the first fills the cache, the second reads it."""
    runs = []
    for _ in range(2):
        trainer, build_s = _timed(lambda: _build("CoOp", data_root, preset, os.path.join(work, "repeat-cache")))
        encoded = _encoded_images(trainer)
        _, test_s = _timed(trainer.test)
        runs.append({"build_s": round(build_s, 3), "test_s": round(test_s, 3), "end_to_end_s": round(build_s + test_s, 3),
                     "images_encoded": sum(encoded), "predictions": list(trainer.evaluator._y_pred)})
        digest_s = _timed(lambda: module_weights_digest(trainer.model.image_encoder))[1]
        del trainer
        gc.collect()
    first, second = runs
    same = first.pop("predictions") == second.pop("predictions")
    cache_files = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(work, "repeat-cache")) for f in fs
                   if f.endswith(".feat")]
    return {
        "case": "repeat", "test_images": first["images_encoded"], "first": first, "second": second,
        "speedup_test": round(first["test_s"] / second["test_s"], 1),
        "speedup_end_to_end": round(first["end_to_end_s"] / second["end_to_end_s"], 1),
        "same_predictions": same, "weights_digest_s": round(digest_s, 3),
        "cache_file_bytes": sum(os.path.getsize(path) for path in cache_files),
    }


def study_case(data_root: str, preset: Preset, work: str) -> dict:
    """A base-to-new study's 36 evaluations with the cache off and on; image-encoder passes per split."""
    split_images = {}
    figures = {}
    for cache_on in (False, True):
        cache_dir = os.path.join(work, f"study-cache-{cache_on}")
        encoded = dict.fromkeys(SUBSETS, 0)
        start = time.perf_counter()
        for name in CONFIGS:
            for seed in SEEDS:
                for subset in SUBSETS:
                    trainer = _build(name, data_root, preset, cache_dir, "SEED", seed,
                                     "DATASET.SUBSAMPLE_CLASSES", subset, "TEST.FEATURE_CACHE.ENABLED", cache_on)
                    counts = _encoded_images(trainer)
                    trainer.test()
                    encoded[subset] += sum(counts)
                    split_images[subset] = len(trainer.test_loader.dataset)
                    del trainer
                    gc.collect()
        figures["on" if cache_on else "off"] = {
            "time_s": round(time.perf_counter() - start, 1),
            "passes": {subset: encoded[subset] / split_images[subset] for subset in SUBSETS},
        }
    for mode in figures.values():
        mode["passes_total"] = sum(mode["passes"].values())
    return {"case": "study", "methods": list(CONFIGS), "seeds": list(SEEDS), "evaluations": len(CONFIGS) * len(SEEDS) * 2,
            "split_images": split_images, **figures}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the loader decodes in one worker beside)")
    parser.add_argument("--out", default="", help="append the JSON lines here (default output/benchmarks/bench_eval_cache_<preset>.jsonl)")
    args = parser.parse_args(argv)
    preset = PRESETS[args.preset]
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_eval_cache-") as work:
        repeat_root, study_root = os.path.join(work, "repeat-data"), os.path.join(work, "study-data")
        generate_synthetic_dataset(repeat_root, num_classes=preset.classes, train_per_class=1, val_per_class=1,
                                   test_per_class=preset.test_per_class, image_size=preset.image_size)
        generate_synthetic_dataset(study_root, num_classes=preset.study_classes, train_per_class=1, val_per_class=1,
                                   test_per_class=preset.study_test_per_class, image_size=preset.image_size)
        random = "MODEL.BACKBONE.RANDOM_INIT" in preset.backbone
        context = {"preset": args.preset, "backbone": preset.backbone[1] + (" (random weights)" if random else ""),
                   "image_px": preset.image_size, "precision": "fp32",
                   "device": f"cpu ({os.cpu_count()} cores, {args.threads} torch threads)", "torch": torch.__version__}
        lines = [{**context, **repeat_case(repeat_root, preset, work)}, {**context, **study_case(study_root, preset, work)}]
    repeat, study = lines[0], lines[1]
    lines.append({"targets": {
        "second_evaluation_speedup_end_to_end (>= 20)": repeat["speedup_end_to_end"],
        "same_predictions": repeat["same_predictions"],
        "study_encoder_passes_with_cache (one per split: 2)": study["on"]["passes_total"],
        "study_encoder_passes_without (36)": study["off"]["passes_total"],
    }, "date": time.strftime("%Y-%m-%d %H:%M"), "total_s": round(time.perf_counter() - started, 1)})
    text = "\n".join(json.dumps(line) for line in lines)
    print(text)
    out = args.out or os.path.join(REPO, "output", "benchmarks", f"bench_eval_cache_{args.preset}.jsonl")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "a") as handle:
        handle.write(text + "\n")
    return lines


if __name__ == "__main__":
    main()
