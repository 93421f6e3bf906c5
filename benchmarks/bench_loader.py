"""Training-loader time per epoch with persistent workers (this repo) against workers started every epoch.

    python benchmarks/bench_loader.py [--workers 2] [--epochs 10] [--out FILE]

A few-shot base split the size of EuroSAT's (5 classes x 16 shots, batch 32, so 2 batches an
epoch) is generated as 256-pixel JPEGs and read through the built-in runtime's training loader
with the real CLIP transforms (random resized crop to 224, flip, normalise). Both loaders use the
same sampler and seeds, so they yield the same batches; the JSON line gives seconds per epoch of
each, the ratio, and whether the batches were equal.
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
from torch.utils.data import DataLoader  # noqa: E402

import datasets  # noqa: E402,F401  (registers the synthetic dataset)
from mopd.config.defaults import get_cfg  # noqa: E402
from mopd.data.synthetic import generate_synthetic_dataset  # noqa: E402
from mopd.engine.data_manager import DataManager  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _loaders(data_root: str, workers: int) -> tuple[DataLoader, DataLoader]:
    """(this repo's training loader, the same loader with workers started every epoch)."""
    cfg = get_cfg()
    cfg.merge_from_file(os.path.join(REPO, "configs", "datasets", "synthetic.yaml"))
    cfg.merge_from_file(os.path.join(REPO, "configs", "trainers", "MoPD", "vit_b16_ep25_ctxv1.yaml"))
    cfg.merge_from_list(["DATASET.ROOT", data_root, "DATASET.NUM_SHOTS", 16, "DATASET.SUBSAMPLE_CLASSES", "base",
                         "DATALOADER.NUM_WORKERS", workers, "DATALOADER.TRAIN_X.BATCH_SIZE", 32, "USE_CUDA", False])
    ours = DataManager(cfg).train_loader_x
    per_epoch = DataLoader(
        ours.dataset, batch_size=ours.batch_size, sampler=ours.sampler, num_workers=workers,
        drop_last=ours.drop_last, persistent_workers=False, generator=torch.Generator(),
    )
    return ours, per_epoch


def _time_epochs(loader: DataLoader, epochs: int) -> tuple[float, list[torch.Tensor]]:
    """Seconds per epoch over `epochs` epochs (reseeded per epoch as the trainers do), and the images."""
    images = []
    start = time.perf_counter()
    for epoch in range(epochs):
        torch.manual_seed(epoch)
        images.extend(batch["img"] for batch in loader)
    return (time.perf_counter() - start) / epochs, images


def main() -> None:
    """Time both loaders side by side and print (and append to --out) one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="DATALOADER.NUM_WORKERS (>= 1)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--out", default=os.path.join(REPO, "output", "benchmarks", "bench_loader.jsonl"))
    args = parser.parse_args()
    if args.workers < 1:
        raise SystemExit("--workers must be >= 1: without worker processes there is nothing to keep")
    with tempfile.TemporaryDirectory(prefix="bench_loader-") as root:
        generate_synthetic_dataset(root, num_classes=10, train_per_class=16, val_per_class=1, test_per_class=1,
                                   image_size=256)
        ours, per_epoch = _loaders(root, args.workers)
        _time_epochs(ours, 1)  # file cache warm for both
        naive_s, naive_images = _time_epochs(per_epoch, args.epochs)
        ours_s, our_images = _time_epochs(ours, args.epochs)
    line = {
        "benchmark": "training loader", "cpu_cores": os.cpu_count(), "workers": args.workers,
        "images_per_epoch": len(ours.sampler), "batches_per_epoch": len(ours), "epochs": args.epochs,
        "epoch_s": {"ours (persistent workers)": round(ours_s, 4), "naive (workers per epoch)": round(naive_s, 4),
                    "ratio": round(naive_s / ours_s, 2)},
        "same_batches": len(our_images) == len(naive_images)
        and all(torch.equal(a, b) for a, b in zip(our_images, naive_images)),
    }
    print(json.dumps(line))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "a") as sink:
        sink.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
