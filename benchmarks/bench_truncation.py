r"""What the truncating text encoder buys, and what it changes: one training pass over the class prompts.

    python benchmarks/bench_truncation.py [--classes 100 500] [--backbone ViT-B/16] [--repeats 2]

The two-tower methods (MaPLe, IVLP, PromptSRC, MMRL) encode every class prompt in every training step with
gradients. By default the text encoder cuts each length group of prompts after its last EOT token
(`TextEncoder(truncate=True)`); `TRAINER.COOP.AUTHORS_NUMERICS True` runs all 77 tokens, as the authors'
code does, and gives their numbers bit for bit. This times one forward and backward pass of both over
the same prompts (CLIP's random weights of the backbone, fp32, CPU, one thread, learnable context of 4
tokens, ImageNet-like class names), alternating the two, and prints per class count the CPU seconds of
each, their ratio, and how far their outputs are apart: the largest difference of a feature element
relative to the largest feature element, and of the context's gradient, which is the round-off the
fidelity comparison (benchmarks/fidelity/README.md) sees in the default mode.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402
from torch import Tensor  # noqa: E402

from classnames import benchmark_classnames  # noqa: E402
from measure import stopwatch  # noqa: E402
from mopd.clip.backbones import get_backbone  # noqa: E402
from mopd.clip.loading import build_random_clip  # noqa: E402
from mopd.clip.text_encoder import TextEncoder  # noqa: E402
from mopd.prompts.classnames import prompt_name  # noqa: E402
from mopd.prompts.prompt_learner import tokenize_prompts  # noqa: E402

N_CTX = 4


def _pass(encoder: TextEncoder, embeddings: Tensor, tokenized: Tensor, ctx: Tensor) -> tuple[float, Tensor, Tensor]:
    """CPU seconds of one forward and backward pass; the features and the context's gradient."""
    ctx.grad = None
    with stopwatch(torch.device("cpu")) as elapsed:
        prompts = torch.cat([embeddings[:, :1], ctx.expand(len(embeddings), -1, -1), embeddings[:, 1 + N_CTX:]], 1)
        features = encoder(prompts, tokenized)
        features.square().sum().backward()
    return elapsed.cpu_s, features.detach(), ctx.grad.clone()


def _relative(a: Tensor, b: Tensor) -> float:
    return float((a.double() - b.double()).abs().max() / b.double().abs().max())


def measure(backbone: str, num_classes: int, repeats: int) -> dict:
    clip_model = build_random_clip(get_backbone(backbone).architecture, seed=0).float()
    names = benchmark_classnames(num_classes)
    tokenized = tokenize_prompts([" ".join(["X"] * N_CTX) + f" {prompt_name(name)}." for name in names],
                                 clip_model.context_length)
    with torch.no_grad():
        embeddings = clip_model.token_embedding(tokenized)
    ctx = embeddings[0, 1:1 + N_CTX].clone().requires_grad_(True)
    encoders = {"truncated": TextEncoder(clip_model, truncate=True), "full": TextEncoder(clip_model, truncate=False)}
    seconds: dict[str, list[float]] = {name: [] for name in encoders}
    outputs = {}
    for _ in range(repeats):
        for name, encoder in encoders.items():
            elapsed, features, grad = _pass(encoder, embeddings, tokenized, ctx)
            seconds[name].append(elapsed)
            outputs[name] = (features, grad)
    best = {name: min(values) for name, values in seconds.items()}
    return {"backbone": backbone, "classes": num_classes, "full_s": round(best["full"], 2),
            "truncated_s": round(best["truncated"], 2), "speedup": round(best["full"] / best["truncated"], 2),
            "mean_eot": round(float(tokenized.argmax(-1).float().mean()) + 1, 1),
            "features_rel_diff": f"{_relative(outputs['truncated'][0], outputs['full'][0]):.1e}",
            "ctx_grad_rel_diff": f"{_relative(outputs['truncated'][1], outputs['full'][1]):.1e}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--classes", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--backbone", default="ViT-B/16")
    parser.add_argument("--repeats", type=int, default=2, help="passes of each encoder; the fastest counts")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for num_classes in args.classes:
        print(json.dumps(measure(args.backbone, num_classes, args.repeats)), flush=True)


if __name__ == "__main__":
    main()
