"""Our MaPLe or PromptSRC against the authors' at 500 classes on the ViT-B/16 architecture, side by side in one run.

    python benchmarks/bench_against_authors.py --authors PATH --dassl PATH        # MaPLe, cpu preset (~8 min)
    python benchmarks/bench_against_authors.py --method PromptSRC --authors PATH --dassl PATH
    python benchmarks/bench_against_authors.py --preset smoke [--method ...]      # our side only, tiny12, seconds

PATH: clones of the method's repository (muzairkhattak/multimodal-prompt-learning for MaPLe,
muzairkhattak/PromptSRC for PromptSRC) and of KaiyangZhou/Dassl.pytorch (Dassl is put on sys.path, not
installed; it needs `pip install wilds==1.2.2 tabulate`). Nothing of theirs is copied into this repository.

The parent writes one random CLIP state_dict, the training batch and the test images; then, per
precision, each side runs in a fresh worker process (`authors_worker.py`) that builds the method at
its published base-to-new setting under the same seed, so both start from the same weights and
prompts (the build is timed: PromptSRC's includes its frozen-CLIP class features of 60 templates).
It times the training steps after a warm-up (CPU seconds with one torch thread, and wall), samples
the resident memory during them, and classifies the test images with the initial prompts. It prints
one table with both sides and authors / ours, and appends one JSON line per precision to --out.
See benchmarks/README.md for the results.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from classnames import benchmark_classnames
from authors_worker import SIDES, Job
from mopd.clip.backbones import get_backbone
from mopd.clip.loading import build_random_clip

logger = logging.getLogger("bench_against_authors")

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).resolve().parent / "authors_worker.py"


@dataclass(frozen=True)
class MethodSetting:
    """A method's published base-to-new setting (tokens and depth of each prompted tower) and its authors' code."""

    n_ctx: int
    depth: int
    lr: float
    repository: str
    marker: str  # a file every clone of `repository` has
    ctx_init: str = "a photo of a"


METHODS = {
    # muzairkhattak/multimodal-prompt-learning configs/trainers/MaPLe/vit_b16_c2_ep5_batch4_2ctx.yaml
    "MaPLe": MethodSetting(2, 9, 0.0035, "muzairkhattak/multimodal-prompt-learning", os.path.join("trainers", "maple.py")),
    # muzairkhattak/PromptSRC configs/trainers/PromptSRC/vit_b16_c2_ep20_batch4_4+4ctx.yaml
    "PromptSRC": MethodSetting(4, 9, 0.0025, "muzairkhattak/PromptSRC", os.path.join("trainers", "promptsrc.py")),
}
DTYPES = {"fp16": torch.float16, "fp32": torch.float32}
# Targets of the issue, read from the first precision run (the preset's first).
STEP_TARGET, MEMORY_TARGET = 3.0, 2.0


@dataclass(frozen=True)
class Preset:
    """How big the comparison runs and which sides it runs."""

    name: str
    backbone: str
    classes: int
    train_batch: int
    test_images: int
    test_batch: int
    warmup_steps: int  # untimed training steps before the timed ones
    timed_steps: int
    precisions: tuple[str, ...]
    sides: tuple[str, ...]
    threads: int = 1  # torch intra-op threads: CPU time is then the work done, whatever else runs


PRESETS: dict[str, Preset] = {
    # fp32 on both sides. The published precision is fp16, but torch has no fast fp16 kernels on a CPU: one
    # step of the authors' fp16 MaPLe at 500 classes ran for over an hour here without finishing, so a CPU
    # comparison in fp16 measures the kernels, not the methods. The authors' fp32 needs one run-time fix
    # per method (theirs.py). One timed step after one warm-up step (first-call costs are seconds).
    "cpu": Preset("cpu", "ViT-B/16", 500, 4, 100, 100, warmup_steps=1, timed_steps=1,
                  precisions=("fp32",), sides=SIDES),
    "smoke": Preset("smoke", "tiny12", 12, 4, 8, 4, warmup_steps=1, timed_steps=1,
                    precisions=("fp16", "fp32"), sides=("ours",)),
}


def write_inputs(preset: Preset, workdir: str, seed: int) -> tuple[str, str, str]:
    """The CLIP weights (random, fp16 as released), the training batch and the test images, as files."""
    weights_file, train_file, test_file = (os.path.join(workdir, name) for name in ("clip.pt", "train.pt", "test.pt"))
    clip_model = build_random_clip(get_backbone(preset.backbone).architecture, seed)
    torch.save(clip_model.state_dict(), weights_file)
    resolution = clip_model.visual.input_resolution
    generator = torch.Generator().manual_seed(seed)
    torch.save({
        "images": torch.randn(preset.train_batch, 3, resolution, resolution, generator=generator),
        "labels": torch.randint(preset.classes, (preset.train_batch,), generator=generator),
    }, train_file)
    torch.save({"images": torch.randn(preset.test_images, 3, resolution, resolution, generator=generator)}, test_file)
    return weights_file, train_file, test_file


def run_side(job: Job, job_dir: str) -> dict:
    """Run one side in a fresh process; its result, or {"error": ...} with the end of its output."""
    os.makedirs(job_dir)
    job.save(job_dir)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # nothing may be written into the authors' clones
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(WORKER), job_dir], env=env, capture_output=True, text=True)
    logger.info("  %s %s: %.0f s", job.side, job.precision, time.perf_counter() - start)
    if proc.returncode != 0:
        reason = f"worker exited with code {proc.returncode}"
        if proc.returncode == -9:
            reason += " (killed, most likely out of memory)"
        logger.error("%s %s: %s\n%s", job.side, job.precision, reason, (proc.stdout + proc.stderr)[-3000:])
        return {"error": reason}
    with open(os.path.join(job_dir, "result.json")) as file:
        return json.load(file)


def compare(job_dirs: dict[str, str], dtype: torch.dtype) -> dict:
    """Predictions, logits and learned prompts of the two sides, from the files their workers saved."""
    logits = {side: torch.load(os.path.join(path, "logits.pt")) for side, path in job_dirs.items()}
    prompts = {side: torch.load(os.path.join(path, "prompts.pt")) for side, path in job_dirs.items()}
    theirs, ours = logits["authors"], logits["ours"]
    assert prompts["authors"].keys() == prompts["ours"].keys(), (prompts["authors"].keys(), prompts["ours"].keys())
    largest = float(theirs.abs().max())
    return {
        "same_predictions": int((theirs.argmax(dim=1) == ours.argmax(dim=1)).sum()),
        "test_images": theirs.shape[0],
        "logits_max_abs_diff": float((theirs - ours).abs().max()),
        # The gap between neighbouring values of the precision at the largest logit: a difference of about this
        # size is round-off, and predictions whose top two logits are that close are ties that round-off decides.
        "logit_spacing": torch.finfo(dtype).eps * 2.0 ** math.floor(math.log2(largest)) if largest else 0.0,
        "prompts_max_abs_diff": max(float((prompts["authors"][name] - prompts["ours"][name]).abs().max())
                                    for name in prompts["ours"]),
    }


def precision_line(preset: Preset, method: str, precision: str, results: dict[str, dict],
                   comparison: dict | None) -> dict:
    """The JSON line of one precision: each figure per side and authors / ours."""
    setting = METHODS[method]
    line: dict = {
        "method": method,
        "preset": preset.name,
        "backbone": f"{preset.backbone} (random weights)",
        "precision": precision,
        "classes": preset.classes,
        "setting": {"n_ctx": setting.n_ctx, "ctx_init": setting.ctx_init, "depth": setting.depth, "lr": setting.lr,
                    "train_batch": preset.train_batch},
        "device": f"cpu ({os.cpu_count()} cores, {preset.threads} torch threads)",
        "warmup_steps": preset.warmup_steps,
        "timed_steps": preset.timed_steps,
        "test_images": preset.test_images,
        "test_batch": preset.test_batch,
    }
    for key in ("build_s", "train_step_cpu_s", "train_step_s", "train_peak_rss_mb", "rss_before_step_mb", "eval_cpu_s",
                "eval_s"):
        values = {side: results[side].get(key) for side in results}
        ratio = values["authors"] / values["ours"] if values.get("authors") and values.get("ours") else None
        line[key] = {**{side: _round(value) for side, value in values.items()}, "ratio": _round(ratio, 2)}
    line["losses"] = {side: results[side].get("losses") for side in results}
    if comparison is not None:
        line.update(comparison)
    errors = {side: result["error"] for side, result in results.items() if "error" in result}
    if errors:
        line["errors"] = errors
    return line


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


ROWS = (
    ("build_s", "build (CLIP, prompts, fixed text features), wall s"),
    ("train_step_cpu_s", "training step, CPU s (1 thread)"),
    ("train_step_s", "training step, wall s"),
    ("train_peak_rss_mb", "peak RSS during the steps, MB"),
    ("rss_before_step_mb", "RSS before the timed steps, MB"),
    ("eval_cpu_s", "evaluation, CPU s"),
)


def table(lines: list[dict]) -> str:
    """One table: every figure of every precision for both sides, and authors / ours."""
    rows = [("precision", "figure", "authors", "ours", "authors / ours")]
    for line in lines:
        precision = line["precision"]
        for key, label in ROWS:
            pair = line[key]
            rows.append((precision, label, _cell(pair.get("authors")), _cell(pair.get("ours")),
                         "" if pair["ratio"] is None else f"{pair['ratio']:.2f}x"))
        losses = line["losses"]
        rows.append((precision, "loss of each step", _losses(losses.get("authors")), _losses(losses.get("ours")), ""))
        if "same_predictions" in line:
            rows.append((precision, f"same prediction, of {line['test_images']} test images", "",
                         str(line["same_predictions"]), ""))
            rows.append((precision, "max |logit difference|", "", f"{line['logits_max_abs_diff']:.2e}", ""))
            rows.append((precision, "spacing of the precision at the largest logit", "",
                         f"{line['logit_spacing']:.2e}", ""))
            rows.append((precision, "max |prompt difference| after the steps", "",
                         f"{line['prompts_max_abs_diff']:.2e}", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    text = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    text.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(text)


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _losses(losses: list[float] | None) -> str:
    return "-" if not losses else " ".join(f"{loss:.4f}" for loss in losses)


def targets(lines: list[dict]) -> dict:
    """The issue's targets at the first precision run; None where a side did not run."""
    published = lines[0]
    return {
        f"train_step_speedup (>= {STEP_TARGET:g}, CPU s)": published["train_step_cpu_s"]["ratio"],
        f"peak_memory_reduction (>= {MEMORY_TARGET:g})": published["train_peak_rss_mb"]["ratio"],
        "same_predictions": (f"{published['same_predictions']} of {published['test_images']}"
                             if "same_predictions" in published else None),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu",
                        help="cpu (default): both sides at 500 classes on ViT-B/16; smoke: our side only, tiny12")
    parser.add_argument("--method", choices=sorted(METHODS), default="MaPLe")
    parser.add_argument("--authors", default="", help="clone of the method's repository (cpu preset)")
    parser.add_argument("--dassl", default="", help="clone of KaiyangZhou/Dassl.pytorch (cpu preset)")
    parser.add_argument("--classes", type=int, default=0, help="number of classes (default: the preset's)")
    parser.add_argument("--precisions", nargs="+", choices=sorted(DTYPES),
                        help="default: the preset's (cpu: fp32; fp16, the published precision, is slow on CPUs)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the weights, images and prompts")
    parser.add_argument("--out", default="", help="JSON-lines file the lines are appended to "
                        "(default: output/benchmarks/bench_against_authors_<method>_<preset>.jsonl)")
    args = parser.parse_args(argv)
    preset = PRESETS[args.preset]
    method = METHODS[args.method]
    if "authors" in preset.sides:
        _check_clone(parser, args.method, "--authors", args.authors, method.marker, method.repository)
        _check_clone(parser, args.method, "--dassl", args.dassl, os.path.join("dassl", "engine", "trainer.py"),
                     "KaiyangZhou/Dassl.pytorch")
    elif args.authors or args.dassl:
        parser.error(f"--preset {args.preset} runs our side only (the authors' code is run at ViT-B's widths, "
                     f"{preset.backbone} has others); drop --authors/--dassl or use --preset cpu")
    if args.classes < 0:
        parser.error(f"--classes must be >= 1, got {args.classes}")
    return args


def _check_clone(parser: argparse.ArgumentParser, method: str, option: str, path: str, marker: str,
                 repository: str) -> None:
    if not path:
        parser.error(f"the cpu preset runs the authors' {method}: give {option} PATH, a clone of {repository}")
    if not os.path.isfile(os.path.join(path, marker)):
        parser.error(f"{option} {path!r} is not a clone of {repository}: it has no {marker}")


def main(argv: list[str] | None = None) -> None:
    """Run both sides at each precision, print the table and the targets, append the JSON lines to --out."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    preset = PRESETS[args.preset]
    classes = args.classes or preset.classes
    preset = Preset(**{**preset.__dict__, "classes": classes})
    setting = METHODS[args.method]
    out = Path(args.out) if args.out else (
        REPO_ROOT / "output" / "benchmarks" / f"bench_against_authors_{args.method}_{preset.name}.jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    lines = []
    with tempfile.TemporaryDirectory(prefix="bench_against_authors-") as workdir:
        weights_file, train_file, test_file = write_inputs(preset, workdir, args.seed)
        for precision in args.precisions or preset.precisions:
            logger.info("%s, %d classes, %s, %s", args.method, classes, preset.backbone, precision)
            job_dirs, results = {}, {}
            for side in preset.sides:
                job = Job(side, args.method, precision, preset.backbone, weights_file, train_file, test_file,
                          tuple(benchmark_classnames(classes)), setting.n_ctx, setting.ctx_init, setting.depth,
                          setting.lr, args.seed,
                          preset.warmup_steps, preset.timed_steps, preset.test_batch, preset.threads,
                          os.path.abspath(args.authors) if args.authors else "",
                          os.path.abspath(args.dassl) if args.dassl else "")
                job_dirs[side] = os.path.join(workdir, f"{side}-{precision}")
                results[side] = run_side(job, job_dirs[side])
            both_ran = set(results) == set(SIDES) and not any("error" in result for result in results.values())
            comparison = compare(job_dirs, DTYPES[precision]) if both_ran else None
            lines.append(precision_line(preset, args.method, precision, results, comparison))
    summary = {"targets": targets(lines), "date": time.strftime("%Y-%m-%d %H:%M"),
               "total_s": round(time.perf_counter() - start, 1)}
    print(f"{args.method}, {classes} classes, {preset.backbone} (random weights), N_CTX {setting.n_ctx}, "
          f"depth {setting.depth}, "
          f"batch {preset.train_batch}; {lines[0]['device']}; timed steps: {preset.timed_steps} after "
          f"{preset.warmup_steps} untimed; {preset.test_images} test images in batches of {preset.test_batch}")
    print(table(lines))
    print(json.dumps(summary))
    with open(out, "a") as sink:
        for line in [*lines, summary]:
            sink.write(json.dumps(line) + "\n")
    logger.info("Appended %d lines to %s", len(lines) + 1, out)


if __name__ == "__main__":
    main()
