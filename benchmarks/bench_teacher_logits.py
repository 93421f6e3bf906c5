"""MoPD's teacher logits: all P prompts in one product (this repo) against only the gate's top-k per image.

    python benchmarks/bench_teacher_logits.py [--classes 1000] [--batch 32] [--repeats 50]

The MPD and MPS losses read only the k selected teachers of each image, so computing just those
logits is exact. Two ways of doing so are timed against ours: gathering the selected prompts'
class features per image, (B, k, C, D), and one product per selected prompt over the images that
chose it. The JSON line gives milliseconds per call, the ratios, the bytes ours and the gathering
way materialise, and the largest difference between the selected logits of the three ways.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import Tensor  # noqa: E402

from mopd.methods.teacher_bank import TeacherBank  # noqa: E402


def top_k_teacher_logits(features: Tensor, image_features: Tensor, indices: Tensor, scale: float) -> Tensor:
    """Logits (B, k, C) of the selected prompts only: gather (B, k, C, D) features, then one product per image."""
    selected = features[indices]  # (P, C, D)[(B, k)] -> (B, k, C, D)
    return scale * torch.einsum("bd,bkcd->bkc", image_features, selected)


def grouped_teacher_logits(features: Tensor, image_features: Tensor, indices: Tensor, scale: float) -> Tensor:
    """Logits (B, k, C) of the selected prompts only, one product per prompt over the images that chose it."""
    out = image_features.new_empty(*indices.shape, features.shape[1])
    for prompt in indices.unique().tolist():
        rows, slots = (indices == prompt).nonzero(as_tuple=True)
        out[rows, slots] = scale * image_features[rows] @ features[prompt].t()
    return out


def _ms_per_call(fn, repeats: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    """Time both ways side by side and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--prompts", type=int, default=12, help="P, the custom pool's size")
    parser.add_argument("--top-k", type=int, default=2)
    parser.add_argument("--dim", type=int, default=512, help="D of ViT-B/16")
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    generator = torch.Generator().manual_seed(0)
    features = F.normalize(torch.randn(args.prompts, args.classes, args.dim, generator=generator), dim=-1)
    image_features = F.normalize(torch.randn(args.batch, args.dim, generator=generator), dim=-1)
    indices = torch.stack([torch.randperm(args.prompts, generator=generator)[: args.top_k] for _ in range(args.batch)])
    bank, scale = TeacherBank(features), 100.0

    ours_ms = _ms_per_call(lambda: bank.logits(image_features, scale), args.repeats)
    top_k_ms = _ms_per_call(lambda: top_k_teacher_logits(features, image_features, indices, scale), args.repeats)
    grouped_ms = _ms_per_call(lambda: grouped_teacher_logits(features, image_features, indices, scale), args.repeats)
    everything = bank.logits(image_features, scale)
    ours_selected = everything[indices, torch.arange(args.batch)[:, None]]  # (B, k, C), as the losses read it
    difference = max(float((ours_selected - way(features, image_features, indices, scale)).abs().max())
                     for way in (top_k_teacher_logits, grouped_teacher_logits))
    line = {
        "benchmark": "teacher logits", "threads": torch.get_num_threads(), "P": args.prompts, "k": args.top_k,
        "B": args.batch, "C": args.classes, "D": args.dim,
        "ms_per_call": {"ours (all P)": round(ours_ms, 3), "top-k gathered": round(top_k_ms, 3),
                        "top-k grouped by prompt": round(grouped_ms, 3),
                        "ratios to ours": [round(top_k_ms / ours_ms, 2), round(grouped_ms / ours_ms, 2)]},
        "bytes": {"ours (P, B, C) logits": everything.numel() * 4,
                  "top-k gathered (B, k, C, D) features": args.batch * args.top_k * args.classes * args.dim * 4},
        "selected_logits_max_abs_diff": difference,
    }
    print(json.dumps(line))


if __name__ == "__main__":
    main()
