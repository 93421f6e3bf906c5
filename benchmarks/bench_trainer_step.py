"""Per-iteration training time of every trainer relative to CoOp, measured side by side in one run.

    python benchmarks/bench_trainer_step.py [--steps 20] [--batch-size 16] [--out FILE]

Each trainer is built through the registry on a generated dataset with the tiny CLIP (fp32, CPU
unless CUDA is available) and timed over the same batches after a warm-up step; one JSON line per
trainer gives milliseconds per iteration and the ratio to CoOp.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

import datasets  # noqa: E402,F401
import trainers  # noqa: E402,F401
from mopd.files.atomic import atomic_path  # noqa: E402
from mopd.backend import build_trainer  # noqa: E402
from mopd.config.defaults import get_cfg  # noqa: E402
from mopd.data.synthetic import generate_synthetic_dataset  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = {
    "CoOp": "CoOp/vit_b16_ep50_ctxv1.yaml",
    "CoCoOp": "CoCoOp/vit_b16_c4_ep10_batch1_ctxv1.yaml",
    "KgCoOp": "KgCoOp/vit_b16_ep50_ctxv1.yaml",
    "ProGrad": "ProGrad/vit_b16_ep50_ctxv1.yaml",
    "MoPD": "MoPD/vit_b16_ep25_ctxv1.yaml",
}


def _build(name: str, data_root: str, out: str, batch_size: int):
    cfg = get_cfg()
    cfg.merge_from_file(os.path.join(REPO, "configs", "datasets", "synthetic.yaml"))
    cfg.merge_from_file(os.path.join(REPO, "configs", "trainers", CONFIGS[name]))
    cfg.merge_from_list([
        "DATASET.ROOT", data_root, "OUTPUT_DIR", out, "SEED", 1, "TRAINER.NAME", name,
        "MODEL.BACKBONE.NAME", "tiny", "INPUT.SIZE", (32, 32), "DATALOADER.NUM_WORKERS", 0,
        "DATALOADER.TRAIN_X.BATCH_SIZE", batch_size, "TRAINER.COOP.PREC", "fp32",
        "DATASET.SUBSAMPLE_CLASSES", "base",
    ])
    cfg.freeze()
    trainer = build_trainer(cfg)
    trainer.before_train_extra()
    trainer.epoch, trainer.batch_idx, trainer.num_batches = 0, 0, 10**9
    trainer.before_epoch()
    return trainer


def _ms_per_step(trainer, batch: dict, steps: int) -> float:
    trainer.forward_backward(batch)  # warm-up
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        trainer.forward_backward(batch)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return 1000 * (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--out", default="", help="also write the JSON lines to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        generate_synthetic_dataset(tmp, num_classes=10, train_per_class=16, val_per_class=2, test_per_class=2)
        built = {name: _build(name, tmp, os.path.join(tmp, name), args.batch_size) for name in CONFIGS}
        batch = next(iter(built["CoOp"].train_loader_x))
        timings = {name: _ms_per_step(trainer, batch, args.steps) for name, trainer in built.items()}
    lines = [
        json.dumps({"trainer": name, "ms_per_iteration": round(ms, 2), "ratio_to_coop": round(ms / timings["CoOp"], 2),
                    "batch_size": args.batch_size, "backbone": "tiny", "device": "cuda" if torch.cuda.is_available() else "cpu"})
        for name, ms in timings.items()
    ]
    print("\n".join(lines))
    if args.out:
        with atomic_path(args.out) as tmp_path:
            with open(tmp_path, "w") as fh:
                fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
