"""Start N train.py set-ups at the same moment: N jobs of a study that share one data root.

    python tests/concurrent_setup.py N RESULTS_DIR -- TRAIN_ARGS...

train.py is imported once (most of a set-up's time); then N children are forked and wait on one
pipe until all exist, and each runs train.py's own steps up to `setup` (config, folder lock, logger, dataset, model) with
TRAIN_ARGS plus `--output-dir RESULTS_DIR/<i>/run`, as `python train.py ... --no-train` would.
Child i writes RESULTS_DIR/<i>/result.json: its exit code and the image paths of the train and val
splits it got; its stdout and stderr go to RESULTS_DIR/<i>/stdout and stderr.
"""
from __future__ import annotations

import json
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import train  # noqa: E402


def _child(index: int, results_dir: str, train_args: list[str], start: int) -> None:
    """Wait for the start signal, set up the run as train.py does, and record what it got."""
    folder = os.path.join(results_dir, str(index))
    os.makedirs(folder)
    for fd, name in ((1, "stdout"), (2, "stderr")):
        target = os.open(os.path.join(folder, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    os.read(start, 1)  # every child blocks here until the parent has forked them all
    result: dict = {"returncode": 0}
    try:
        args = train.parse_args(["--output-dir", os.path.join(folder, "run"), *train_args])
        cfg = train.checked_cfg(args)
        with train.lock_output_dir(cfg.OUTPUT_DIR) as lock:
            trainer = train.setup(args, cfg, train.inspect_folder(args, cfg), lock.created)
        dataset = trainer.dm.dataset
        result["train"] = [item.impath for item in dataset.train_x]
        result["val"] = [item.impath for item in dataset.val]
    except SystemExit as exit_:
        result["returncode"] = exit_.code
    with open(os.path.join(folder, "result.json"), "w") as f:
        json.dump(result, f)


def main(argv: list[str]) -> int:
    """Fork the children, release them together, and return 0 once they have all exited."""
    count, results_dir, separator, *train_args = argv
    assert separator == "--", __doc__
    read_end, write_end = os.pipe()
    children = []
    for index in range(int(count)):
        pid = os.fork()
        if pid == 0:
            os.close(write_end)
            code = 1
            try:
                _child(index, results_dir, train_args, read_end)
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)  # never return into the parent's loop
        children.append(pid)
    os.write(write_end, b"x" * len(children))
    for pid in children:
        os.waitpid(pid, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
