"""Check: our LinearProbeCLIP keeps the C and reaches the test accuracy of CoOp's own `lpclip/linear_probe.py`
on the same features and the same few-shot images.

    python benchmarks/fidelity/compare_lpclip.py --coop PATH_TO_COOP_CLONE [--work DIR] [--shots 1 16]

For each of two generated datasets of different sizes (10 classes of 16 train / 4 val / 10 test
images, 20 classes of 24 / 6 / 15) and each shot count, it

1. runs our few-shot probe (seed 1, the tiny CLIP) with `python -m mopd.study`, which writes the
   whole train, val and test splits' features to the evaluation feature cache;
2. reads them back from the cache through the trainer (the log says "read from the feature cache")
   and exports them as the files CoOp's `feat_extractor.py` writes, `<dataset>/{train,val,test}.npz`
   (keys `feature_list`, `label_list`), with the rows of each class placed so that the script's own
   sampling (`np.random.seed(1)`, then `np.random.choice` per class, train then val) draws exactly
   our few-shot train and val images, in our order (checked here before their script runs);
3. runs their script in a subprocess (`--num_run 1 --num_step 8`, this Python and scikit-learn),
   and compares the C it keeps at each of the 8 steps and its test accuracy with our run's.

It prints one table and exits 1 on any difference. Nothing of CoOp's is imported or copied: their
script runs as it is, from the clone given.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)

import numpy as np  # noqa: E402

TINY = ["MODEL.BACKBONE.NAME", "tiny", "INPUT.SIZE", "(32, 32)", "DATALOADER.NUM_WORKERS", "0"]
DATASETS = {  # export name -> generator arguments: two sizes, other images
    "synthetic_10": dict(num_classes=10, train_per_class=16, val_per_class=4, test_per_class=10, seed=0),
    "synthetic_20": dict(num_classes=20, train_per_class=24, val_per_class=6, test_per_class=15, seed=3),
}
SEED = 1
STEPS = 8
ENV = dict(os.environ, MOPD_BACKEND="builtin", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
           PYTHONPATH=REPO_ROOT)

logger = logging.getLogger("compare_lpclip")


def run_our_probes(data: str, output: str, shots: list[int]) -> float:
    """Our few-shot probes of the synthetic dataset in `data` (one study); the seconds it took."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mopd.study", "run", "--executor", "debug", "--methods", "lpclip",
                    "--protocols", "few_shot", "--datasets", "synthetic", "--seeds", str(SEED),
                    "--shots", *map(str, shots), "--data", data, "--output", output, *TINY],
                   cwd=REPO_ROOT, env=ENV, check=True, capture_output=True, text=True)
    return time.perf_counter() - start


def build_trainer(step):
    """The trainer of our run `step`, built with that run's config (no training, nothing written)."""
    import train
    from mopd.backend import build_trainer as build
    from mopd.cli.config import build_cfg

    return build(build_cfg(train.parse_args(step.train_py_args())))


def whole_split(trainer, name: str) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Features (float64) and labels of the whole split our probe's `name` images are rows of, and their rows."""
    from mopd.feature_cache.split_rows import loader_like, subset_rows

    split = trainer.probe_splits[name]
    loader = loader_like(trainer.test_loader, split.whole)
    features, labels = trainer.eval_feature_cache.split_features(split.cached, loader, trainer.encode_test_images)
    return features.double().numpy(), labels.numpy(), subset_rows(split.whole, split.images)


def arrange_for_sampling(labels: np.ndarray, picked: list[int], state: np.random.RandomState) -> np.ndarray:
    """An order of a whole split's rows whose file, sampled as linear_probe.py samples it, yields `picked` in order.

    For each class in ascending label order the script draws `np.random.choice(rows_of_class, k, replace=False)`,
    which is `permutation(len(rows_of_class))[:k]` of the global RandomState; `state` replays those draws.
    """
    order = []
    for label in np.unique(labels):
        members = [int(row) for row in np.flatnonzero(labels == label)]
        chosen = [row for row in picked if labels[row] == label]
        draw = state.permutation(len(members))[:len(chosen)]
        block = np.full(len(members), -1)
        block[draw] = chosen
        block[block < 0] = [row for row in members if row not in chosen]
        order.extend(block.tolist())
    return np.array(order)


def export(trainer, folder: str) -> None:
    """Write train.npz, val.npz and test.npz of our run's features to `folder`, arranged as described above."""
    state = np.random.RandomState(SEED)  # the script calls np.random.seed(seed) before sampling train, then val
    os.makedirs(folder, exist_ok=True)
    for name in ("train", "val", "test"):
        features, labels, rows = whole_split(trainer, name)
        order = arrange_for_sampling(labels, rows, state) if name != "test" else np.arange(len(labels))
        np.savez(os.path.join(folder, f"{name}.npz"), feature_list=features[order], label_list=labels[order])
    check_sampling_draws_ours(folder, {name: trainer.split_features(name) for name in ("train", "val")})


def check_sampling_draws_ours(folder: str, ours: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """Draw from the exported files as linear_probe.py does; each draw must be our probe's features, in order."""
    np.random.seed(SEED)
    classes = np.unique(np.load(os.path.join(folder, "train.npz"))["label_list"])
    for name in ("train", "val"):  # the val draw continues the train draw's random stream
        stored = np.load(os.path.join(folder, f"{name}.npz"))
        features, labels = stored["feature_list"], stored["label_list"]
        per_class = int(np.sum(ours[name][1] == ours[name][1][0]))
        picked = [row for label in classes
                  for row in np.random.choice(np.flatnonzero(labels == label), size=per_class, replace=False)]
        assert np.array_equal(features[picked], ours[name][0]) and np.array_equal(labels[picked], ours[name][1]), name


def run_coop(coop: str, feature_root: str, dataset: str) -> dict[int, dict]:
    """Run CoOp's linear_probe.py on the exported features; per shot count, the C kept at each step and the accuracy."""
    script = os.path.join(coop, "lpclip", "linear_probe.py")
    proc = subprocess.run([sys.executable, script, "--dataset", dataset, "--feature_dir", "clip_feat",
                           "--num_step", str(STEPS), "--num_run", "1"],
                          cwd=feature_root, env=ENV, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{script} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    details = os.path.join(feature_root, "report", f"clip_feat_s{STEPS}r1_details.txt")
    line = re.compile(rf"^{re.escape(dataset)}, seed {SEED}, (\d+) shot, weight (\S+), test_acc ([\d.]+)$")
    found: dict[int, dict] = {}
    with open(details) as f:
        for match in filter(None, map(line.match, f.read().splitlines())):
            entry = found.setdefault(int(match[1]), {"kept": [], "accuracy": ""})
            entry["kept"].append(float(match[2]))
            entry["accuracy"] = match[3]
    os.remove(details)  # the script appends: the next dataset starts from an empty report
    return found


def our_result(run_dir: str) -> dict:
    """The C our probe kept at each step and its test accuracy (2 decimals, as CoOp's script prints it)."""
    from mopd.results.logs import read_run_log
    from mopd.training.probe_file import PROBE_FILE

    with open(os.path.join(run_dir, PROBE_FILE)) as f:
        steps = json.load(f)["search"]["steps"]
    return {"kept": [step["kept"] for step in steps], "accuracy": f"{read_run_log(run_dir).result.accuracy:.2f}"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--coop", required=True, help="a clone of KaiyangZhou/CoOp (its lpclip/linear_probe.py runs)")
    parser.add_argument("--shots", type=int, nargs="+", default=[1, 16], help="shot counts (default: 1 16)")
    parser.add_argument("--work", default="", help="working folder (default: a temporary one)")
    args = parser.parse_args(argv)
    if not os.path.isfile(os.path.join(args.coop, "lpclip", "linear_probe.py")):
        parser.error(f"{args.coop} holds no lpclip/linear_probe.py: give a clone of KaiyangZhou/CoOp")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    os.environ.update(MOPD_BACKEND="builtin", OMP_NUM_THREADS="1")
    import datasets  # noqa: F401  (registers the datasets)
    import trainers  # noqa: F401  (registers the trainers)
    from mopd.data.synthetic import generate_synthetic_dataset
    from mopd.study.settings import get_method
    from mopd.study.steps import Scope, fewshot_train

    work = args.work or tempfile.mkdtemp(prefix="compare_lpclip-")
    rows, equal = [], True
    for dataset, sizes in DATASETS.items():
        data, output = os.path.join(work, dataset, "data"), os.path.join(work, dataset, "output")
        generate_synthetic_dataset(data, **sizes)
        seconds = run_our_probes(data, output, args.shots)
        scope = Scope(get_method("lpclip"), data, output, overrides=tuple(TINY))
        for shots in args.shots:
            step = fewshot_train(scope, "synthetic", SEED, shots)
            feature_root = os.path.join(work, dataset, f"coop_{shots}_shots")
            export(build_trainer(step), os.path.join(feature_root, "clip_feat", dataset))
            theirs, ours = run_coop(args.coop, feature_root, dataset)[shots], our_result(step.path)
            same = theirs == ours
            equal &= same
            rows.append(f"| {dataset} | {shots} | {ours['kept'][-1]!r} | {theirs['kept'][-1]!r} | {ours['accuracy']} | "
                        f"{theirs['accuracy']} | {'yes' if ours['kept'] == theirs['kept'] else 'NO'} | "
                        f"{seconds:.1f} |")
    print("| dataset | shots | C (ours) | C (CoOp's script) | test acc. (ours) | test acc. (CoOp's script) "
          "| same C at all 8 steps | our study, all shot counts (s) |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print("equal" if equal else "DIFFERENT")
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
