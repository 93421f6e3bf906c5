r"""Run the authors' MaPLe, IVLP, PromptSRC, MMRL and MMRL++ and ours on identical inputs; compare losses, prompts and accuracies.

    python benchmarks/fidelity/compare_authors.py \
        --authors /path/to/multimodal-prompt-learning --dassl /path/to/Dassl.pytorch [--promptsrc /path/to/PromptSRC]

Sides, each in its own process: the authors' train.py and trainers under real Dassl (authors_side.py,
with the run-time patches listed there; their files are never changed), and this repository's
train.py set-up under MOPD_BACKEND=dassl and MOPD_BACKEND=builtin (ours_side.py). All read one CLIP
state_dict (ViT-B/16 widths, --layers per tower, 32 px input, patch 16), one synthetic dataset and one
saved sequence of train and test batches (inputs.py); each trainer's own train() runs on them, with
its own lr schedule and final test, then its last checkpoint is evaluated on the new classes. See
README.md for what is compared and the tolerances.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import torch

from inputs import BACKBONE_NAME, Inputs, prepare_inputs

HERE = os.path.dirname(os.path.abspath(__file__))

# The published base-to-new prompt depths (configs/trainers/<method>/ of the authors); capped at --layers.
PUBLISHED_DEPTHS = {"MaPLe": {"PROMPT_DEPTH": 9}, "IVLP": {"PROMPT_DEPTH_VISION": 12, "PROMPT_DEPTH_TEXT": 12},
                    "PromptSRC": {"PROMPT_DEPTH_VISION": 9, "PROMPT_DEPTH_TEXT": 9},
                    "MMRL": {"REP_LAYERS": [6, 7, 8, 9, 10, 11, 12]},
                    "MMRLpp": {"REP_LAYERS": [6, 7, 8, 9, 10, 11, 12]}}
# The clone each method's authors' code is in (--authors holds MaPLe's and IVLP's).
CLONE_ARGS = {"PromptSRC": "promptsrc", "MMRL": "mmrl", "MMRLpp": "mmrl"}
METHODS = tuple(PUBLISHED_DEPTHS)
# What each criterion must meet, per precision (None: reported, not judged). fp16 losses are fp16 numbers on
# the authors' side (CE on fp16 logits), about 5e-4 apart, and fp16 steps round differently on CPU kernels.
TOLERANCES = {"fp32": 1e-5, "fp16": None}
BACKENDS = ("dassl", "builtin")
AUTHORS_NUMERICS_SIDE = "builtin-as-authors"  # the diagnostic side (--authors-numerics)
SIDES = (*BACKENDS, AUTHORS_NUMERICS_SIDE)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--authors", required=True, help="clone of muzairkhattak/multimodal-prompt-learning")
    parser.add_argument("--promptsrc", default="", help="clone of muzairkhattak/PromptSRC (for --methods PromptSRC)")
    parser.add_argument("--mmrl", default="",
                        help="clone of yunncheng/MMRL (for --methods MMRL MMRLpp; use --layers 12)")
    parser.add_argument("--dassl", required=True, help="clone of KaiyangZhou/Dassl.pytorch")
    parser.add_argument("--work", default=os.path.join("output", "fidelity"), help="folder for inputs, runs, logs")
    parser.add_argument("--methods", nargs="+", default=["MaPLe", "IVLP"], choices=METHODS)
    parser.add_argument("--precisions", nargs="+", default=["fp32", "fp16"], choices=["fp32", "fp16"])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--layers", type=int, default=9, help="layers per tower of the CLIP (>= 9 for depth 9)")
    parser.add_argument("--epochs", type=int, default=3, help="OPTIM.MAX_EPOCH (epoch 1 is the 1e-5 warm-up)")
    parser.add_argument("--classes", type=int, default=4, help="synthetic classes: the first half base, the rest new")
    parser.add_argument("--train-per-class", type=int, default=4)
    parser.add_argument("--test-per-class", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--authors-numerics", action="store_true",
                        help="diagnostic: also run ours (builtin) with the text encoder over all 77 tokens and the "
                             "cross-entropy on the logits' own dtype, as the authors' code computes them")
    parser.add_argument("--reuse", action="store_true", help="keep the results of sides that already ran")
    args = parser.parse_args(argv)
    clones = [(args.authors, "trainers/maple.py", "muzairkhattak/multimodal-prompt-learning"),
              (args.dassl, "dassl/engine/trainer.py", "KaiyangZhou/Dassl.pytorch")]
    if "PromptSRC" in args.methods:
        clones.append((args.promptsrc, "trainers/promptsrc.py", "muzairkhattak/PromptSRC (--promptsrc)"))
    if "MMRL" in args.methods or "MMRLpp" in args.methods:
        clones.append((args.mmrl, "trainers/mmrlpp.py", "yunncheng/MMRL (--mmrl)"))
    for path, inside, what in clones:
        if not os.path.isfile(os.path.join(path, inside)):
            parser.error(f"{path} has no {inside}: give the path of a clone of {what}")
    return args


def _run_side(script: str, spec: dict, env: dict[str, str], reuse: bool) -> dict:
    """Run one side (a fresh output folder) and return its result file's contents."""
    if not (reuse and os.path.isfile(spec["result_file"])):
        runs, name = os.path.split(spec["output_dir"])
        for entry in os.listdir(runs):  # an earlier run's folders (Dassl would resume from them) and files
            if entry == name or entry.startswith(name + "_eval") or entry.startswith(name + "."):
                path = os.path.join(runs, entry)
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        spec_file = spec["result_file"][:-3] + ".json"
        with open(spec_file, "w", encoding="utf-8") as f:
            json.dump(spec, f, indent=1)
        log = spec["result_file"][:-3] + ".log"
        start = time.time()
        with open(log, "w", encoding="utf-8") as out:
            proc = subprocess.run([sys.executable, os.path.join(HERE, script), spec_file], stdout=out,
                                  stderr=subprocess.STDOUT, env={**os.environ, **env, "PYTHONDONTWRITEBYTECODE": "1"})
        if proc.returncode:
            with open(log, encoding="utf-8") as f:
                sys.exit(f"{script} failed (exit {proc.returncode}); the end of {log}:\n{f.read()[-4000:]}")
        print(f"  {os.path.basename(spec['result_file'][:-3])}: {time.time() - start:.0f} s", flush=True)
    return torch.load(spec["result_file"], weights_only=False)


def _capped(depth: int | list[int], layers: int) -> int | list[int]:
    """A published depth, or MMRL's list of layers, cut to the layers the shared CLIP has."""
    return min(depth, layers) if isinstance(depth, int) else [layer for layer in depth if layer <= layers]


def run_case(args: argparse.Namespace, inputs: Inputs, method: str, prec: str) -> dict:
    """The authors' run, then ours on each backend; their results by side name."""
    runs = os.path.join(os.path.abspath(args.work), "runs")
    os.makedirs(runs, exist_ok=True)
    depths = {key: _capped(value, args.layers) for key, value in PUBLISHED_DEPTHS[method].items()}
    common = {"method": method, "prec": prec, "seed": args.seed, "depths": depths, "epochs": inputs.epochs,
              "num_shots": 16, "drive": "saved_batches",
              "image_size": inputs.image_size, "clip_file": inputs.clip_file, "data_root": inputs.data_root,
              "batches_file": inputs.batches_file,
              "loss_weights": {"text": 25, "image": 10}}  # PromptSRC's published TEXT_ and IMAGE_LOSS_WEIGHT
    authors_dir = os.path.join(runs, f"authors_{method}_{prec}")
    results = {"authors": _run_side("authors_side.py", {
        **common, "authors": os.path.abspath(getattr(args, CLONE_ARGS.get(method, "authors"))),
        "dassl": os.path.abspath(args.dassl),
        "output_dir": authors_dir, "result_file": authors_dir + ".pt"}, {"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"},
        args.reuse)}
    sides = [(backend, backend, False) for backend in args.backends]
    sides += [(AUTHORS_NUMERICS_SIDE, "builtin", True)] if args.authors_numerics else []
    for side, backend, authors_numerics in sides:
        out = os.path.join(runs, f"ours_{side}_{method}_{prec}")
        env = {"MOPD_BACKEND": backend, "PYTHONPATH": os.path.abspath(args.dassl) if backend == "dassl" else ""}
        results[side] = _run_side("ours_side.py", {
            **common, "backend": backend, "backbone_name": BACKBONE_NAME, "architecture": inputs.architecture,
            "authors_numerics": authors_numerics, "output_dir": out, "result_file": out + ".pt",
            "authors_output_dir": authors_dir, "authors_result": authors_dir + ".pt"}, env, args.reuse)
    return results


def relative(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    """max |ours - theirs| / max |theirs| (a tensor's difference against its own scale), in float64."""
    ours, theirs = ours.double(), theirs.double()
    return float((ours - theirs).abs().max() / theirs.abs().max().clamp_min(1e-30))


def relative_l2(ours: dict[str, torch.Tensor], theirs: dict[str, torch.Tensor]) -> float:
    """The largest ||ours - theirs||_2 / ||theirs||_2 over the tensors (a norm-wise view of the same difference)."""
    return max(float((ours[name].double() - value.double()).norm() / value.double().norm().clamp_min(1e-30))
               for name, value in theirs.items())


def compare_params(ours: dict[str, torch.Tensor], theirs: dict[str, torch.Tensor]) -> tuple[float, str]:
    """The largest relative difference over the tensors and the tensor it is in; inf when the names differ."""
    if set(ours) != set(theirs):
        return float("inf"), f"names differ: ours only {sorted(set(ours) - set(theirs))}, " \
                             f"theirs only {sorted(set(theirs) - set(ours))}"
    worst = max(ours, key=lambda name: relative(ours[name], theirs[name]))
    return relative(ours[worst], theirs[worst]), worst


def compare_side(ours: dict, authors: dict) -> dict:
    """Every criterion of one of our backends against the authors' run."""
    mapped = ours["authors_mapped"]
    losses = [(o["loss"], a["loss"]) for o, a in zip(ours["steps"], authors["steps"])]
    parts = [abs(o["parts"][name] - a["parts"][name]) / abs(a["parts"][name])
             for o, a in zip(ours["steps"], authors["steps"]) for name in a.get("parts", {})]
    initial, initial_at = compare_params(ours["initial"], mapped["initial"])
    final, final_at = compare_params(ours["final"], mapped["final"])
    return {
        "steps": (len(ours["steps"]), len(authors["steps"])),
        "lr": max(abs(o["lr"] - a["lr"]) / a["lr"] for o, a in zip(ours["steps"], authors["steps"])),
        "loss": max(abs(o - a) / abs(a) for o, a in losses),
        "parts": max(parts, default=0.0),  # PromptSRC's loss parts; 0 for a loss of one part
        "losses": losses,
        "initial": initial, "initial_at": initial_at, "final": final, "final_at": final_at,
        "final_l2": relative_l2(ours["final"], mapped["final"]) if set(ours["final"]) == set(mapped["final"]) else final,
        "classnames": ours["classnames"] == authors["classnames"],
        "acc": (ours["acc"], authors["acc"]),
        "authors_checkpoint_acc": ours["authors_checkpoint_acc"],
    }


def _verdict(value: float, tolerance: float | None) -> str:
    return f"{value:.1e}" + ("" if tolerance is None else (" ok" if value <= tolerance else " FAIL"))


def report(all_results: dict) -> bool:
    """Print the comparison table and the loss traces; True when every judged criterion passes."""
    header = ("method", "prec", "backend", "init prompts", "losses", "loss parts", "final prompts", "lr",
              "base acc ours/auth", "new acc ours/auth", "auth ckpt here b/n")
    rows, passed = [header], True
    for (method, prec), results in all_results.items():
        tolerance = TOLERANCES[prec]
        for backend in (side for side in SIDES if side in results):
            c = compare_side(results[backend], results["authors"])
            (acc, auth_acc), here = c["acc"], c["authors_checkpoint_acc"]
            same_acc = acc == auth_acc and here == auth_acc and c["classnames"] and c["steps"][0] == c["steps"][1]
            judged = [c["initial"], c["loss"], c["parts"], c["final"], c["lr"]]
            passed &= same_acc and (tolerance is None or max(judged) <= tolerance)
            rows.append((method, prec, backend, _verdict(c["initial"], tolerance), _verdict(c["loss"], tolerance),
                         _verdict(c["parts"], tolerance),
                         _verdict(c["final"], tolerance), _verdict(c["lr"], tolerance),
                         f"{acc['base']:.1f}/{auth_acc['base']:.1f}", f"{acc['new']:.1f}/{auth_acc['new']:.1f}",
                         f"{here['base']:.1f}/{here['new']:.1f}" + ("" if same_acc else " FAIL")))
            c["prec"] = prec
            all_results[(method, prec)][f"compared_{backend}"] = c
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    for i, row in enumerate(rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))
        if i == 0:
            print("  ".join("-" * width for width in widths))
    print("\nRelative differences: max |ours - theirs| / max |theirs| per tensor (largest over the prompt tensors), "
          "per step for losses and lr. Accuracies must be equal; 'auth ckpt here' is the authors' checkpoint "
          "evaluated by this repository's train.py --eval-only (base/new).")
    for (method, prec), results in all_results.items():
        for backend in (side for side in SIDES if f"compared_{side}" in results):
            c = results[f"compared_{backend}"]
            print(f"\n{method} {prec} {backend}: largest init difference in {c['initial_at']}, "
                  f"final in {c['final_at']} (norm-wise, the largest ||ours - theirs|| / ||theirs|| is "
                  f"{c['final_l2']:.1e}); losses (ours, authors):")
            print("  " + ", ".join(f"({o:.7g}, {a:.7g})" for o, a in c["losses"]))
    return passed


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    inputs = prepare_inputs(os.path.abspath(args.work), layers=args.layers, image_size=32, classes=args.classes,
                            train_per_class=args.train_per_class, test_per_class=args.test_per_class,
                            epochs=args.epochs, batch_size=4, seed=args.seed)
    results = {}
    for method in args.methods:
        for prec in args.precisions:
            print(f"{method} {prec}:", flush=True)
            results[(method, prec)] = run_case(args, inputs, method, prec)
    print()
    sys.exit(0 if report(results) else 1)


if __name__ == "__main__":
    main()
