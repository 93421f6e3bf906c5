"""train.py and its run folder: recorded settings, one process at a time, Ctrl-C, refused settings."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from e2e import BACKENDS, REPO_ROOT, backend_env, run_train, snapshot
from test_reliability import _accuracy_lines, _args, _fails, _final_checkpoint

_DEADLINE_S = 300  # upper bound for a subprocess to reach a point it reaches in seconds


def _wait_for(condition, proc_list: list[subprocess.Popen]) -> None:
    """Poll `condition` until it holds; fail if every process has exited first or the deadline passes."""
    deadline = time.monotonic() + _DEADLINE_S
    while not condition():
        if all(proc.poll() is not None for proc in proc_list) or time.monotonic() > deadline:
            pytest.fail("the run never got there")
        time.sleep(0.005)


def _start_train(args: list[str], cwd: str, name: str) -> subprocess.Popen:
    """`python train.py ARGS` as a user starts it; its output goes to `cwd/name.out` and `cwd/name.err`."""
    with open(os.path.join(cwd, f"{name}.out"), "w") as stdout, open(os.path.join(cwd, f"{name}.err"), "w") as stderr:
        return subprocess.Popen([sys.executable, os.path.join(REPO_ROOT, "train.py"), *args], cwd=cwd,
                                env=backend_env("builtin"), stdout=stdout, stderr=stderr)


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


@pytest.fixture(scope="module", params=BACKENDS)
def finished(request, data_root, tmp_path_factory) -> tuple[str, str]:
    """(backend, folder) of a finished two-epoch MoPD run."""
    out = str(tmp_path_factory.mktemp(f"finished_{request.param}") / "run")
    run_train(_args(data_root, out, "OPTIM.MAX_EPOCH", "2"), request.param, os.path.dirname(out))
    return request.param, out


def _copy(run: str, tmp_path, *remove: str) -> str:
    """A copy of a run folder without the files `remove` (e.g. the finished marker: a run killed after saving)."""
    copy = str(tmp_path / "copy")
    shutil.copytree(run, copy)
    for name in remove:
        os.remove(os.path.join(copy, name))
    return copy


def test_a_training_run_records_its_settings_and_the_marker_their_fingerprint(finished):
    _, out = finished
    with open(os.path.join(out, "run_config.json")) as f:
        record = json.load(f)
    settings = record["settings"]
    assert settings["TRAINER.NAME"] == "MoPD" and settings["MODEL.BACKBONE.NAME"] == "tiny"
    assert settings["OPTIM.MAX_EPOCH"] == 2
    assert settings["OUTPUT_DIR"] == out and settings["DATASET.NUM_SHOTS"] == 4
    with open(os.path.join(out, "run_finished.json")) as f:
        assert json.load(f)["fingerprint"] == record["fingerprint"]


@pytest.mark.parametrize("key,value,shown", [
    ("OPTIM.LR", "0.01", "OPTIM.LR 0.002 -> 0.01"),
    ("TRAINER.MOPD.TOP_K", "3", "TRAINER.MOPD.TOP_K 2 -> 3"),
    ("TRAINER.MOPD.W", "0.5", "TRAINER.MOPD.W 0.8 -> 0.5"),
    ("DATASET.NUM_SHOTS", "2", "DATASET.NUM_SHOTS 4 -> 2"),
])
@pytest.mark.parametrize("marker", ["finished", "killed after its last checkpoint"])
def test_other_defining_settings_are_refused_naming_the_key_and_nothing_changes(
    key, value, shown, marker, finished, data_root, tmp_path
):
    backend, run = finished
    out = run if marker == "finished" else _copy(run, tmp_path, "run_finished.json")
    before = snapshot(out)
    proc = run_train(_args(data_root, out, "OPTIM.MAX_EPOCH", "2", key, value), backend, str(tmp_path), check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    error = proc.stderr.strip().splitlines()[-1]
    what = "the finished run" if marker == "finished" else "the run"
    assert error.startswith(f"error: {what} in {out} was trained with other settings: {shown}."), error
    assert "another --output-dir" in error and "--allow-settings-change" in error
    assert snapshot(out) == before


def test_harmless_settings_and_another_folder_path_resume_to_the_same_result(finished, data_root, tmp_path):
    backend, run = finished
    out = _copy(run, tmp_path, "run_finished.json")  # recorded with the original OUTPUT_DIR
    harmless = ("OPTIM.MAX_EPOCH", "2", "TRAIN.PRINT_FREQ", "3", "DATALOADER.TEST.BATCH_SIZE", "5")
    resumed = run_train(_args(data_root, out, *harmless), backend, str(tmp_path))
    assert "will resume training" in resumed.stdout
    assert _accuracy_lines(resumed.stdout) == _accuracy_lines(_read(os.path.join(run, "log.txt")))


def test_finished_run_with_harmless_changes_is_skipped_writing_nothing(finished, data_root, tmp_path):
    backend, out = finished
    before = snapshot(out)
    again = run_train(_args(data_root, out, "OPTIM.MAX_EPOCH", "2", "TRAIN.PRINT_FREQ", "3"), backend, str(tmp_path))
    assert f"A finished run is already in {out}; nothing to do" in again.stdout
    assert snapshot(out) == before


def test_allowed_settings_change_resumes_and_is_recorded(finished, data_root, tmp_path):
    backend, run = finished
    out = _copy(run, tmp_path)
    longer = _args(data_root, out, "OPTIM.MAX_EPOCH", "3")
    _fails(longer, str(tmp_path), f"the run in {out} was trained with other settings: OPTIM.MAX_EPOCH 2 -> 3.")
    longer.insert(longer.index("MODEL.BACKBONE.NAME"), "--allow-settings-change")
    resumed = run_train(longer, backend, str(tmp_path))
    assert "will resume training" in resumed.stdout and "epoch [3/3]" in resumed.stdout
    assert "OPTIM.MAX_EPOCH 2 -> 3" in resumed.stdout
    with open(os.path.join(out, "run_config.json")) as f:
        record = json.load(f)
    assert record["settings"]["OPTIM.MAX_EPOCH"] == 3 and record["settings_changed"] == [{"OPTIM.MAX_EPOCH": [2, 3]}]
    with open(os.path.join(out, "run_finished.json")) as f:
        marker = json.load(f)
    assert (marker["epochs"], marker["fingerprint"]) == (3, record["fingerprint"])


def test_folder_written_before_run_records_resumes_with_one_warning(finished, data_root, tmp_path):
    backend, run = finished
    out = _copy(run, tmp_path, "run_finished.json", "run_config.json")
    resumed = run_train(_args(data_root, out, "OPTIM.MAX_EPOCH", "2"), backend, str(tmp_path))
    warnings = [line for line in resumed.stdout.splitlines() if "before runs recorded their settings" in line]
    assert len(warnings) == 1 and "will resume training" in resumed.stdout
    assert os.path.isfile(os.path.join(out, "run_config.json"))


@pytest.mark.parametrize("key", ["OPTIM.MAX_EPOCH", "DATALOADER.TRAIN_X.BATCH_SIZE", "DATALOADER.TEST.BATCH_SIZE"])
def test_run_length_and_batch_sizes_below_one_are_refused_naming_the_key(key, finished, data_root, tmp_path):
    _, run = finished
    before = snapshot(run)
    _fails(_args(data_root, str(tmp_path / "new"), key, "0"), str(tmp_path), f"{key}=0 must be >= 1")
    _fails(_args(data_root, run, key, "0"), str(tmp_path), f"{key}=0 must be >= 1")
    assert not (tmp_path / "new").exists() and snapshot(run) == before


def test_run_into_a_held_folder_stops_at_once_and_writes_nothing(finished, data_root, tmp_path):
    from mopd.runs.lock import lock_output_dir

    _, run = finished
    out = str(tmp_path / "held")
    busy = f"error: another run (pid {os.getpid()}) is using {out}; "
    with lock_output_dir(out):
        before = snapshot(out)
        train = _fails(_args(data_root, out, "OPTIM.MAX_EPOCH", "2"), str(tmp_path))
        evaluation = _fails(
            _args(data_root, out, flags=("--eval-only", "--model-dir", run, "--load-epoch", "2")), str(tmp_path)
        )
        assert train.startswith(busy) and evaluation.startswith(busy)
        assert snapshot(out) == before == {"run.lock": before["run.lock"]}


def test_two_runs_started_together_one_trains_and_after_a_kill_a_new_run_resumes(data_root, tmp_path):
    args = _args(data_root, str(tmp_path / "shared"), "OPTIM.MAX_EPOCH", "8")
    lock_file = tmp_path / "shared" / "run.lock"
    procs = [_start_train(args, str(tmp_path), name) for name in ("first", "second")]
    try:
        _wait_for(lambda: lock_file.is_file() and lock_file.read_text().strip(), procs)
        holder_pid = int(lock_file.read_text())
        os.kill(holder_pid, signal.SIGSTOP)  # the holder cannot end before the other one meets the lock
        holder = next(proc for proc in procs if proc.pid == holder_pid)
        other = next(proc for proc in procs if proc is not holder)
        name = "first" if other is procs[0] else "second"
        assert other.wait() == 2
        error = _read(str(tmp_path / f"{name}.err"))
        assert error.strip().splitlines() == [
            f"error: another run (pid {holder_pid}) is using {tmp_path / 'shared'}; wait for it to end or stop it, "
            "or choose another --output-dir"
        ]
        assert _read(str(tmp_path / f"{name}.out")) == ""
        os.kill(holder_pid, signal.SIGCONT)
        _wait_for((tmp_path / "shared" / "prompt_learner" / "model.pth.tar-2").exists, [holder])
        holder.send_signal(signal.SIGKILL)  # during epoch 3 (or while epoch 2 is being saved)
        holder.wait()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert not (tmp_path / "shared" / "run_finished.json").exists()
    assert [name for name in os.listdir(tmp_path / "shared") if name.startswith("log.txt")] == ["log.txt"]

    resumed = run_train(args, "builtin", str(tmp_path))
    assert "will resume training" in resumed.stdout
    whole = str(tmp_path / "whole")
    uninterrupted = run_train(_args(data_root, whole, "OPTIM.MAX_EPOCH", "8"), "builtin", str(tmp_path))
    expected, got = _final_checkpoint(whole, 8), _final_checkpoint(str(tmp_path / "shared"), 8)
    assert expected["state_dict"].keys() == got["state_dict"].keys()
    for name, tensor in expected["state_dict"].items():
        assert got["state_dict"][name].equal(tensor), name
    assert _accuracy_lines(resumed.stdout) == _accuracy_lines(uninterrupted.stdout)


def test_ctrl_c_during_training_says_how_to_resume_and_keeps_the_checkpoints(data_root, tmp_path):
    out = tmp_path / "run"
    models = out / "prompt_learner"
    proc = _start_train(_args(data_root, str(out), "OPTIM.MAX_EPOCH", "200"), str(tmp_path), "run")
    try:
        _wait_for((models / "model.pth.tar-2").exists, [proc])
        saved = {name: (models / name).read_bytes() for name in ("model.pth.tar-1", "model.pth.tar-2")}
        proc.send_signal(signal.SIGINT)
        assert proc.wait() == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = _read(str(tmp_path / "run.err"))
    assert "Traceback" not in stderr
    line = stderr.strip().splitlines()[-1]
    prefix, suffix = "interrupted at epoch ", "; run the same command to resume"
    assert line.startswith(prefix) and line.endswith(suffix), line
    epoch = int(line[len(prefix):-len(suffix)])
    last_saved = max(int(name.rsplit("-", 1)[1]) for name in os.listdir(models) if name.startswith("model.pth.tar-"))
    assert last_saved in (epoch - 1, epoch) and epoch >= 2
    assert all((models / name).read_bytes() == data for name, data in saved.items())
    assert not (out / "run_finished.json").exists()


def test_help_prints_the_example_on_separate_lines(capsys):
    import train

    with pytest.raises(SystemExit) as exit_info:
        train.parse_args(["--help"])
    assert exit_info.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    for expected in (
        "    python train.py --trainer MoPD --root $DATA --seed 1 \\",
        "        --dataset-config-file configs/datasets/caltech101.yaml \\",
        "        --output-dir output/caltech101 DATASET.NUM_SHOTS 16 DATASET.SUBSAMPLE_CLASSES base",
    ):
        assert expected in lines


@pytest.mark.parametrize("where", ["command line", "config file"])
def test_another_methods_key_is_reported_and_does_not_define_the_run(finished, data_root, tmp_path, where):
    backend, run = finished
    if backend != "builtin":
        pytest.skip("the report and the record are backend-independent")
    if where == "command line":
        extra, cfg_files = ("TRAINER.KGCOOP.W", "2.0"), ()
    else:
        overlay = tmp_path / "kgcoop_w.yaml"
        overlay.write_text("TRAINER:\n  KGCOOP:\n    W: 2.0\n")
        extra, cfg_files = (), ("--config-file", str(overlay))
    out = str(tmp_path / "run")
    args = _args(data_root, out, "OPTIM.MAX_EPOCH", "2", *extra)
    args[args.index("--output-dir"):args.index("--output-dir")] = list(cfg_files)
    trained = run_train(args, backend, str(tmp_path))
    warning = ("TRAINER.KGCOOP.W 2.0 has no effect on a MoPD run: only KgCoOp reads TRAINER.KGCOOP; "
               "it is left out of the run's settings fingerprint")
    assert warning in trained.stdout + trained.stderr
    assert warning in _read(os.path.join(out, "log.txt"))
    with open(os.path.join(out, "run_config.json")) as f, open(os.path.join(run, "run_config.json")) as g:
        assert json.load(f)["fingerprint"] == json.load(g)["fingerprint"]
    again = run_train(_args(data_root, out, "OPTIM.MAX_EPOCH", "2"), backend, str(tmp_path))
    assert "A finished run is already in" in again.stdout + again.stderr
