"""A whole base-to-new study, one job after another against the study's parallel executors.

    python benchmarks/bench_study.py [--seeds 1 2 3 4] [--epochs 10] [--slurm]

The same study (CoOp, MoPD and zero-shot CLIP x seeds on the generated `synthetic` dataset, tiny
CLIP, 4 shots) runs three or four ways on this machine, each into its own output folder, and the
wall times are printed side by side with their ratio to the sequential way:
- `run_protocol.sh`, once per method: every job in one process, one after another (the bash way);
- `python -m mopd.study run --executor local --jobs 2`: two CPU slots, one torch thread each;
- with `--slurm`, `--executor slurm` on a running cluster (see .ci/slurm/start.sh).
Every way must produce the same `* correct:` counts; the benchmark checks it.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from mopd.data.synthetic import generate_synthetic_dataset  # noqa: E402
from mopd.results.layout import find_runs  # noqa: E402

METHODS = ("coop", "mopd", "zsclip")


def _overrides(epochs: int) -> list[str]:
    return ["MODEL.BACKBONE.NAME", "tiny", "INPUT.SIZE", "(32, 32)", "OPTIM.MAX_EPOCH", str(epochs),
            "DATALOADER.TRAIN_X.BATCH_SIZE", "4", "DATALOADER.NUM_WORKERS", "0"]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=REPO_ROOT, MOPD_BACKEND="builtin", OMP_NUM_THREADS="1", PYTHON=sys.executable)


def _timed(commands: list[list[str]], env: dict[str, str]) -> float:
    start = time.perf_counter()
    for command in commands:
        subprocess.run(command, cwd=REPO_ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _correct_counts(output: str) -> dict[str, int]:
    return {os.path.relpath(run.path, output): run.result.correct for run in find_runs(output).runs if run.result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", nargs="+", default=["1", "2", "3", "4"])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--slurm", action="store_true", help="also run the study as a SLURM job array")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="bench_study_")
    data = os.path.join(root, "data")
    generate_synthetic_dataset(data, num_classes=6, train_per_class=8, val_per_class=2, test_per_class=4)
    overrides = _overrides(args.epochs)
    study = [sys.executable, "-m", "mopd.study", "run", "--methods", *METHODS, "--protocols", "base2new",
             "--datasets", "synthetic", "--seeds", *args.seeds, "--shots", "4", "--data", data]
    ways = {
        "run_protocol.sh (sequential)": lambda out: [
            ["bash", "scripts/run_protocol.sh", method, "base2new", *overrides] for method in METHODS],
        "study local, 2 slots": lambda out: [
            [*study, "--output", out, "--executor", "local", "--jobs", "2", "--threads", "1", *overrides]],
    }
    if args.slurm:
        ways["study slurm array"] = lambda out: [
            [*study, "--output", out, "--executor", "slurm", "--gpus-per-job", "0", "--cpus-per-job", "1",
             "--threads", "1", "--poll", "1", *overrides]]
    times, counts = {}, {}
    for name, commands in ways.items():
        out = os.path.join(root, name.split()[0].replace(".", "_") + str(len(times)))
        env = dict(_env(), DATA=data, OUTPUT=out, SEEDS=" ".join(args.seeds), DATASETS="synthetic", SHOTS="4")
        times[name] = _timed(commands(out), env)
        counts[name] = _correct_counts(out)
    jobs = len(METHODS) * len(args.seeds)
    print(f"base-to-new study: {len(METHODS)} methods x {len(args.seeds)} seeds = {jobs} jobs, tiny CLIP, "
          f"{args.epochs} epochs, {os.cpu_count()} CPUs")
    sequential = times["run_protocol.sh (sequential)"]
    for name, seconds in times.items():
        print(f"  {name:30s} {seconds:7.1f} s   {sequential / seconds:5.2f}x")
    reference = counts["run_protocol.sh (sequential)"]
    assert len(reference) == 2 * jobs and all(c == reference for c in counts.values()), "results differ between ways"
    print(f"  the same `* correct:` counts in every way ({len(reference)} results)")


if __name__ == "__main__":
    main()
