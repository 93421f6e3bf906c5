"""Speed and memory of CoOp, KgCoOp, CoCoOp and MoPD on this repo's text path against the naive one.

For each case (method x number of classes x precision) it measures, side by side in one run, the
training-step time, the peak memory of a training step, the evaluation time of a fixed set of test
images, the start-up cost (CLIP load + fixed text features: MoPD's teacher bank, KgCoOp's
hand-crafted prompts) and the text tokens each path processes. It prints one JSON line per case
with both figures and naive / ours, appends it to --out, and ends with a line of the targets.

    python benchmarks/bench_train.py                  # --preset cpu (about 16 minutes on 2 cores)
    python benchmarks/bench_train.py --preset gpu     # what benchmarks/gpu_check.sh runs

See benchmarks/README.md for what each figure means and the measured results.
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import logging
import multiprocessing
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import torch
from torch import nn

from measure import Elapsed, stopwatch
from mopd.clip.loading import load_clip
from mopd.clip.precision import PrecisionPolicy
from setups import METHODS, PATHS
from worker import Job, device_copy, run_job, worker_entry

logger = logging.getLogger("bench_train")

REPO_ROOT = Path(__file__).resolve().parent.parent
# Figures measured as time: wall-clock seconds, and seconds of this process's CPU time beside them.
TIMED = ("train_step", "eval", "text_build")


@dataclass(frozen=True)
class Case:
    """One method at one number of classes, and which paths run its training step and its evaluation."""

    method: str
    classes: int
    train: tuple[str, ...] = PATHS
    eval: tuple[str, ...] = PATHS
    # Teacher features drawn at random instead of encoded: a step costs the same whatever their values,
    # and encoding P x C prompts would dominate a CPU run; start-up is then not measured for the case.
    random_teacher_bank: bool = False
    note: str = ""  # why a path is left out, printed with the case


@dataclass(frozen=True)
class Preset:
    """Where and how big the benchmark runs."""

    name: str
    device: str
    precisions: tuple[str, ...]
    train_batch: int  # images per training step (CoCoOp: cocoop_batch)
    cocoop_batch: int  # CoCoOp's published batch is 1: its prompts are per image
    test_images: int  # the fixed test set of every case (CoCoOp: cocoop_test_images)
    test_batch: int
    cocoop_test_images: int
    warmup_steps: int  # untimed full training steps before the timed ones
    timed_steps: int
    isolate: bool  # a fresh process per case and path, so that resident memory is that path's alone
    timing: str  # "cpu" or "wall": which seconds the targets are read from
    cases: tuple[Case, ...]
    threads: int = 0  # torch intra-op threads; 0: all cores
    backbone: str = "ViT-B/16"
    step_classes: int = 500  # the classes at which the targets read the training step and its memory
    eval_classes: int = 1000  # ... and the evaluation


# CoOp's naive 500-class step is MoPD's without the teacher terms (same full-length encoding of the same
# prompts); MoPD's is measured, CoOp's is left out to keep the CPU run short.
_COOP_NAIVE_500 = "naive step: see MoPD at 500 classes (the same full-length text encoding), not repeated here"

PRESETS: dict[str, Preset] = {
    "cpu": Preset(
        name="cpu",
        device="cpu",
        precisions=("fp32",),
        train_batch=2,
        cocoop_batch=1,
        test_images=2,
        test_batch=1,
        cocoop_test_images=2,
        warmup_steps=0,
        timed_steps=1,
        isolate=True,
        timing="cpu",
        threads=1,
        cases=(
            Case("CoOp", 50),
            Case("KgCoOp", 50),
            Case("CoCoOp", 50),
            Case("MoPD", 50),
            Case("CoOp", 500, train=("ours",), eval=(), note=_COOP_NAIVE_500),
            Case("MoPD", 500, eval=(), random_teacher_bank=True),
            Case("CoOp", 1000, train=(), eval=PATHS),
        ),
    ),
    "gpu": Preset(
        name="gpu",
        device="cuda",
        precisions=("fp16", "amp"),
        train_batch=128,
        cocoop_batch=1,
        test_images=1000,
        test_batch=100,
        cocoop_test_images=100,
        warmup_steps=2,
        timed_steps=5,
        isolate=False,
        timing="wall",
        cases=tuple(Case(method, classes) for classes in (50, 500, 1000) for method in METHODS),
    ),
}
# The gpu preset's code path (in-process, every method on both paths, two precisions) at toy size on
# the CPU in about 30 s: tests/test_benchmarks.py runs it so that gpu_check.sh cannot rot unnoticed.
PRESETS["smoke"] = dataclasses.replace(
    PRESETS["gpu"], name="smoke", device="cpu", backbone="tiny", precisions=("fp32", "amp"), train_batch=2,
    test_images=4, test_batch=2, cocoop_test_images=2, warmup_steps=1, timed_steps=1,
    cases=tuple(Case(method, classes) for classes in (6, 12) for method in METHODS), step_classes=12, eval_classes=12,
)


@dataclass
class SharedClip:
    """The CLIP the cases of one precision share, and what loading it cost."""

    load: Elapsed
    cpu_clip: nn.Module
    device_clip: nn.Module
    file: str = ""  # saved copy for worker processes


def load_shared_clip(preset: Preset, precision: str, workdir: str) -> SharedClip:
    """Load the random-weight CLIP once per precision, timing what a trainer's start-up pays for it."""
    device = torch.device(preset.device)
    with stopwatch(device) as elapsed:
        cpu_clip = PrecisionPolicy(precision, device).prepare(load_clip(preset.backbone, random_init=True))
        device_clip = device_copy(cpu_clip, device)
    shared = SharedClip(elapsed, cpu_clip, device_clip)
    if preset.isolate:
        shared.file = os.path.join(workdir, f"clip-{precision}.pt")
        torch.save(cpu_clip, shared.file)
    logger.info("CLIP %s (%s, random weights) loaded in %.1f s", preset.backbone, precision, elapsed.wall_s)
    return shared


def run_case(preset: Preset, case: Case, precision: str, shared: SharedClip, workdir: str,
             threads: int) -> dict[str, dict]:
    """Measure the case's paths: each in a fresh worker process when the preset isolates, else here."""
    cocoop = case.method == "CoCoOp"
    logits_dir = os.path.join(workdir, f"{case.method}-{case.classes}-{precision}")
    os.makedirs(logits_dir, exist_ok=True)
    job = Job(
        method=case.method, classes=case.classes, precision=precision, device=preset.device,
        train_paths=case.train, eval_paths=case.eval,
        train_batch=preset.cocoop_batch if cocoop else preset.train_batch,
        test_images=preset.cocoop_test_images if cocoop else preset.test_images,
        test_batch=preset.test_batch, warmup_steps=preset.warmup_steps, timed_steps=preset.timed_steps,
        threads=threads, random_teacher_bank=case.random_teacher_bank, clip_file=shared.file,
        logits_dir=logits_dir,
    )
    logger.info("%s, %d classes, %s: train %s, eval %s", case.method, case.classes, precision,
                "+".join(case.train) or "-", "+".join(case.eval) or "-")
    start = time.perf_counter()
    if preset.isolate:
        results: dict[str, dict] = {}
        for path in job.paths:
            results.update(_run_in_worker(dataclasses.replace(
                job, train_paths=tuple(p for p in job.train_paths if p == path),
                eval_paths=tuple(p for p in job.eval_paths if p == path))))
    else:
        results = run_job(job, (shared.cpu_clip, shared.device_clip))
    logger.info("  done in %.0f s", time.perf_counter() - start)
    return results


def _run_in_worker(job: Job) -> dict[str, dict]:
    """Run `job` in a process forked from the fork server (modules imported, no state shared)."""
    context = multiprocessing.get_context("forkserver")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=worker_entry, args=(job, sender))
    process.start()
    sender.close()
    try:
        results = receiver.recv()
    except EOFError:
        results = None
    process.join()
    if results is None or process.exitcode != 0:
        reason = f"worker exited with code {process.exitcode}"
        if process.exitcode == -9:
            reason += " (killed, most likely out of memory)"
        logger.error("%s, %d classes, %s: %s", job.method, job.classes, "+".join(job.paths), reason)
        return {path: {"error": reason} for path in job.paths}
    return results


def case_line(preset: Preset, case: Case, precision: str, shared: SharedClip, results: dict[str, dict],
              workdir: str) -> dict:
    """The JSON line of one case: each figure for ours and naive, and naive / ours."""
    ours, naive = results.get("ours", {}), results.get("naive", {})
    cocoop = case.method == "CoCoOp"
    line: dict = {
        "preset": preset.name,
        "device": _device_name(preset.device),
        "backbone": f"{preset.backbone} (random weights)",
        "precision": precision,
        "method": case.method,
        "classes": case.classes,
        "train_batch": preset.cocoop_batch if cocoop else preset.train_batch,
        "test_images": preset.cocoop_test_images if cocoop else preset.test_images,
        "test_batch": preset.test_batch,
    }
    for name in TIMED:
        for key in (f"{name}_s", f"{name}_cpu_s"):
            if key in ours or key in naive:
                line[key] = _pair(ours.get(key), naive.get(key))
    if "train_peak_mem_mb" in ours or "train_peak_mem_mb" in naive:
        line["train_peak_mem_mb"] = _pair(ours.get("train_peak_mem_mb"), naive.get("train_peak_mem_mb"))
    if "text_build_s" in line:
        line["clip_load_s"], line["clip_load_cpu_s"] = round(shared.load.wall_s, 3), round(shared.load.cpu_s, 3)
        for suffix, load_s in (("s", shared.load.wall_s), ("cpu_s", shared.load.cpu_s)):
            build = [r.get(f"text_build_{suffix}") for r in (ours, naive)]
            line[f"startup_{suffix}"] = _pair(*(None if b is None else load_s + b for b in build))
    line["tokens"] = _tokens(ours, naive)
    if case.eval == PATHS and "eval_s" in ours and "eval_s" in naive:
        line["eval_logits_max_abs_diff"] = _logits_difference(os.path.join(
            workdir, f"{case.method}-{case.classes}-{precision}"))
    errors = {path: result["error"] for path, result in results.items() if "error" in result}
    if errors:
        line["errors"] = errors
    if case.note:
        line["note"] = case.note
    return line


def _pair(ours: float | None, naive: float | None) -> dict:
    ratio = naive / ours if ours and naive else None
    return {"ours": _round(ours), "naive": _round(naive), "ratio": _round(ratio, 2)}


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _tokens(ours: dict, naive: dict) -> dict:
    """Token figures per job kind: training prompts, fixed text features, evaluation."""
    tokens: dict = {}
    for key, name in (("train_tokens", "train"), ("text_build_tokens", "text_build"),
                      ("eval_text_tokens", "eval_processed")):
        per_path = {path: result[key] for path, result in (("ours", ours), ("naive", naive)) if key in result}
        if per_path:
            tokens[name] = per_path
    return tokens


def _logits_difference(logits_dir: str) -> float:
    ours, naive = (torch.load(os.path.join(logits_dir, f"{path}.pt")) for path in PATHS)
    return float((ours - naive).abs().max())


def _device_name(device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name(0)
    return f"cpu ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"


def target_summary(lines: list[dict], preset: Preset) -> dict:
    """The issue's targets read from the case lines; None where a figure was not measured."""
    suffix = "cpu_s" if preset.timing == "cpu" else "s"
    step, evaluation = preset.step_classes, preset.eval_classes

    def figure(method: str, classes: int, key: str, part: str = "ratio") -> float | None:
        values = [line[key][part] for line in lines
                  if line["method"] == method and line["classes"] == classes and key in line]
        return min((v for v in values if v is not None), default=None)

    mopd_step = figure("MoPD", step, f"train_step_{suffix}", "ours")
    coop_step = figure("CoOp", step, f"train_step_{suffix}", "ours")
    startups = [line[f"startup_{suffix}"]["ratio"] for line in lines
                if line["method"] == "MoPD" and line.get(f"startup_{suffix}", {}).get("ratio") is not None]
    logits_diffs = [line["eval_logits_max_abs_diff"] for line in lines
                    if line["classes"] == evaluation and line["precision"] == "fp32" and "eval_logits_max_abs_diff" in line]
    return {"targets": {
        "timing": f"{preset.timing} seconds",
        f"train_step_{step}_speedup (>= 5)": figure("MoPD", step, f"train_step_{suffix}"),
        "mopd_startup_speedup (>= 5)": min(startups, default=None),
        f"eval_{evaluation}_speedup (>= 10)": figure("CoOp", evaluation, f"eval_{suffix}"),
        f"eval_{evaluation}_logits_max_abs_diff (<= 1e-4 in fp32)": max(logits_diffs, default=None),
        f"mopd_over_coop_step_{step} (<= 1.10)": round(mopd_step / coop_step, 3) if mopd_step and coop_step else None,
        f"mopd_train_peak_mem_{step}_reduction (>= 3)": figure("MoPD", step, "train_peak_mem_mb"),
    }}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu",
                        help="cpu (default), gpu, or smoke (the gpu preset's code path at toy size on the CPU)")
    parser.add_argument("--out", default="", help="JSON-lines file the lines are appended to "
                        "(default: output/benchmarks/bench_train_<preset>.jsonl)")
    parser.add_argument("--methods", nargs="+", choices=METHODS, help="only the preset's cases of these methods")
    parser.add_argument("--classes", nargs="+", type=int, help="only the preset's cases with these class counts")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch intra-op threads (default: the preset's; cpu uses 1, see README)")
    return parser.parse_args(argv)


def selected_cases(preset: Preset, methods: list[str] | None, classes: list[int] | None) -> list[Case]:
    """The preset's cases, filtered by --methods and --classes."""
    cases = [case for case in preset.cases
             if (not methods or case.method in methods) and (not classes or case.classes in classes)]
    if not cases:
        raise SystemExit(f"no case of preset {preset.name!r} matches --methods {methods} --classes {classes}; "
                         f"its cases: {[(case.method, case.classes) for case in preset.cases]}")
    return cases


def main(argv: list[str] | None = None) -> None:
    """Run the preset's cases, print and append one JSON line per case, then the targets."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    preset = PRESETS[args.preset]
    if preset.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--preset gpu needs a CUDA device, and torch.cuda.is_available() is False; "
                         "run --preset cpu here, or run benchmarks/gpu_check.sh on a GPU machine")
    cases = selected_cases(preset, args.methods, args.classes)
    threads = args.threads or preset.threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    if preset.isolate:
        # Workers fork from a server that has imported this script (and torch) and computed nothing.
        multiprocessing.get_context("forkserver").set_forkserver_preload(["__main__"])
    out = Path(args.out) if args.out else REPO_ROOT / "output" / "benchmarks" / f"bench_train_{preset.name}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    lines: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench_train-") as workdir, open(out, "a") as sink:
        for precision in preset.precisions:
            shared = load_shared_clip(preset, precision, workdir)
            for case in cases:
                results = run_case(preset, case, precision, shared, workdir, threads)
                lines.append(case_line(preset, case, precision, shared, results, workdir))
                _emit(lines[-1], sink)
            del shared
            gc.collect()
        summary = target_summary(lines, preset)
        summary["date"] = time.strftime("%Y-%m-%d %H:%M")
        summary["total_s"] = round(time.perf_counter() - start, 1)
        _emit(summary, sink)
    logger.info("Appended %d lines to %s", len(lines) + 1, out)


def _emit(line: dict, sink: TextIO) -> None:
    text = json.dumps(line)
    print(text, flush=True)
    sink.write(text + "\n")
    sink.flush()


if __name__ == "__main__":
    main()
