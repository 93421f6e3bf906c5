"""The speed benchmark runs end to end: its smoke preset is the gpu preset's code path at toy size.

These tests check that `benchmarks/bench_train.py` measures every method on both paths and reports
what it promises; they check no timing (speed is what the benchmark itself is for).
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from e2e import REPO_ROOT

METHODS = {"CoOp", "KgCoOp", "CoCoOp", "MoPD"}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory) -> tuple[list[dict], list[dict]]:
    """(lines printed, lines appended to --out) of one smoke-preset run."""
    workdir = tmp_path_factory.mktemp("bench")
    out = workdir / "lines.jsonl"
    out.write_text('{"earlier": "run"}\n')  # --out is appended to, never overwritten
    env = {**os.environ, "MOPD_BACKEND": "builtin"}
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO_ROOT, "benchmarks", "bench_train.py"), "--preset", "smoke", "--out", str(out)],
        cwd=str(workdir), env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = [json.loads(line) for line in proc.stdout.splitlines()]
    written = [json.loads(line) for line in out.read_text().splitlines()]
    return printed, written


def _ratio_range(naive: float, ours: float, half: float = 0.0005) -> tuple[float, float]:
    """The smallest and largest naive / ours whose figures round to `naive` and `ours` (3 decimals)."""
    return (naive - half) / (ours + half), (naive + half) / (ours - half) if ours > half else math.inf


def test_every_method_and_precision_is_measured_on_both_paths(smoke_run):
    printed, written = smoke_run
    assert written == [{"earlier": "run"}, *printed]
    cases = printed[:-1]
    assert {(line["method"], line["classes"], line["precision"]) for line in cases} == {
        (method, classes, precision) for method in METHODS for classes in (6, 12) for precision in ("fp32", "amp")
    }
    for line in cases:
        assert "errors" not in line, line
        for key in ("train_step_s", "eval_s", "train_peak_mem_mb"):
            pair = line[key]
            assert pair["ours"] > 0 and pair["naive"] > 0, (key, line)
            # naive / ours, from the unrounded figures: within what the printed ones (3 decimals) allow
            low, high = _ratio_range(pair["naive"], pair["ours"])
            assert low - 0.005 <= pair["ratio"] <= high + 0.005, (key, pair)  # the ratio has 2 decimals
        has_fixed_text = line["method"] in ("KgCoOp", "MoPD")
        assert ("startup_s" in line) == has_fixed_text
        assert ("text_build" in line["tokens"]) == has_fixed_text


def test_our_path_encodes_the_least_tokens_and_the_naive_path_all_77(smoke_run):
    for line in smoke_run[0][:-1]:
        for job in ("train", "text_build"):
            if job not in line["tokens"]:
                continue
            ours, naive = line["tokens"][job]["ours"], line["tokens"][job]["naive"]
            assert ours["minimal"] <= ours["processed"] <= 1.3 * ours["minimal"], (job, line)
            assert naive["processed"] == naive["full"] == ours["full"], (job, line)
        eval_tokens = line["tokens"]["eval_processed"]
        assert eval_tokens["ours"] < eval_tokens["naive"]


def test_both_paths_give_the_same_evaluation_logits(smoke_run):
    for line in smoke_run[0][:-1]:
        difference = line["eval_logits_max_abs_diff"]
        assert math.isfinite(difference)
        if line["precision"] == "fp32":
            assert difference <= 1e-4, line


def test_the_last_line_reads_every_target(smoke_run):
    summary = smoke_run[0][-1]["targets"]
    assert summary["timing"] == "wall seconds"
    assert set(summary) == {
        "timing", "train_step_12_speedup (>= 5)", "mopd_startup_speedup (>= 5)", "eval_12_speedup (>= 10)",
        "eval_12_logits_max_abs_diff (<= 1e-4 in fp32)", "mopd_over_coop_step_12 (<= 1.10)",
        "mopd_train_peak_mem_12_reduction (>= 3)",
    }
    assert all(value is not None for value in summary.values()), summary


def test_the_truncation_benchmark_times_both_text_passes_and_finds_them_equal_up_to_round_off(tmp_path):
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO_ROOT, "benchmarks", "bench_truncation.py"), "--backbone", "tiny",
         "--classes", "6", "12", "--repeats", "1"], cwd=str(tmp_path), capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(text) for text in proc.stdout.splitlines()]
    assert [line["classes"] for line in lines] == [6, 12]
    for line in lines:
        assert line["full_s"] > 0 and line["truncated_s"] > 0 and line["mean_eot"] < 77
        # the printed ratio is that of the two unrounded times, so it lies in the range the rounded figures allow
        low, high = (line["full_s"] - 0.005) / (line["truncated_s"] + 0.005), (line["full_s"] + 0.005) / max(
            line["truncated_s"] - 0.005, 1e-9)
        assert low <= line["speedup"] + 0.005 and line["speedup"] - 0.005 <= high
        # the same maths: the outputs of the two passes differ by fp32 round-off only
        assert float(line["features_rel_diff"]) < 1e-5 and float(line["ctx_grad_rel_diff"]) < 1e-5


def test_the_cache_key_benchmark_times_every_way_of_keying_the_files_it_generates(tmp_path):
    out, work = tmp_path / "lines.jsonl", tmp_path / "work"
    work.mkdir()
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO_ROOT, "benchmarks", "bench_cache_key.py"), "--files", "120", "--kb", "10",
         "--repeats", "1", "--decode-sample", "5", "--dir", str(work), "--out", str(out)],
        cwd=str(tmp_path), capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = json.loads(proc.stdout)
    assert [json.loads(text) for text in out.read_text().splitlines()] == [line]
    assert line["files"] == 120 and 8 <= line["mean_kb"] <= 12
    ways = {"mtime_key", "ctime_key", "recorded_hit", "sha256_cold", "read_only_cold", "sha256_warm", "blake2b_warm",
            "read_only_warm", "entry_read"}
    assert ways <= set(line["seconds"]) == set(line["over_mtime_key"]) == set(line["per_50k_files_s"])
    assert line["over_mtime_key"]["mtime_key"] == 1.0 and line["per_image_s"]["decode_transform"] > 0
    assert os.listdir(work) == []  # the generated files are gone


def _run_bench_against_authors(workdir, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, os.path.join(REPO_ROOT, "benchmarks", "bench_against_authors.py"), *args],
        cwd=str(workdir), capture_output=True, text=True, timeout=600,
    )


@pytest.mark.parametrize("method, setting", [
    ("MaPLe", {"n_ctx": 2, "ctx_init": "a photo of a", "depth": 9, "lr": 0.0035, "train_batch": 4}),
    ("PromptSRC", {"n_ctx": 4, "ctx_init": "a photo of a", "depth": 9, "lr": 0.0025, "train_batch": 4}),
])
def test_against_the_authors_smoke_preset_prints_its_table_for_our_side(method, setting, tmp_path):
    """The smoke preset runs our side alone (tiny12: the benchmark runs the authors' code at ViT-B's widths)."""
    out = tmp_path / "lines.jsonl"
    proc = _run_bench_against_authors(tmp_path, "--preset", "smoke", "--method", method, "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    title, header, rule, *rows, summary = proc.stdout.splitlines()
    assert title.startswith(f"{method}, 12 classes, tiny12")
    assert header.split() == ["precision", "figure", "authors", "ours", "authors", "/", "ours"]
    step_rows = [row for row in rows if "training step, CPU s" in row]
    assert [row.split()[0] for row in step_rows] == ["fp16", "fp32"]
    for row in step_rows:
        assert row.split()[-2] == "-" and float(row.split()[-1]) > 0  # authors not run, ours measured
    assert json.loads(summary)["targets"] == {
        "train_step_speedup (>= 3, CPU s)": None, "peak_memory_reduction (>= 2)": None, "same_predictions": None}
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line.get("precision") for line in lines] == ["fp16", "fp32", None]
    for line in lines[:2]:
        assert "errors" not in line, line
        assert line["method"] == method and line["classes"] == 12 and line["setting"] == setting
        assert line["train_step_cpu_s"]["ours"] > 0 and line["train_peak_rss_mb"]["ours"] > 0
        assert line["build_s"]["ours"] > 0
        assert len(line["losses"]["ours"]) == 2 and all(math.isfinite(loss) for loss in line["losses"]["ours"])


def test_against_the_authors_needs_their_clones(tmp_path):
    proc = _run_bench_against_authors(tmp_path, "--dassl", str(tmp_path), "--out", str(tmp_path / "lines.jsonl"))
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == (
        "bench_against_authors.py: error: the cpu preset runs the authors' MaPLe: give --authors PATH, a clone of "
        "muzairkhattak/multimodal-prompt-learning")
    proc = _run_bench_against_authors(tmp_path, "--method", "PromptSRC", "--authors", str(tmp_path), "--dassl",
                                      str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1].endswith("is not a clone of muzairkhattak/PromptSRC: it has no "
                                                 "trainers/promptsrc.py")
    assert list(tmp_path.iterdir()) == []  # nothing written
