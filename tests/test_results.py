"""Tests of mopd.results: Dassl log parsing, mean/std over seeds, HM, averages, incomplete runs, outputs, CLI."""
from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys

import pytest
from PIL import Image

from mopd.results import build_report, parse_result_blocks, read_run_log, render
from mopd.results.cli import main
from mopd.results.names import BENCHMARK_DATASETS

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def dassl_block(accuracy: float, total: int = 1000, split: str = "test") -> str:
    """The lines Dassl prints for one evaluation (accuracy given as a multiple of 100/total)."""
    correct = round(accuracy * total / 100)
    return (
        f"Evaluate on the *{split}* set\n=> result\n* total: {total:,}\n* correct: {correct:,}\n"
        f"* accuracy: {accuracy:.1f}%\n* error: {100 - accuracy:.1f}%\n* macro_f1: {accuracy - 1:.1f}%\n"
    )


def write_log(run_dir, text: str, name: str = "log.txt") -> str:
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, name), "w") as f:
        f.write(text)
    return str(run_dir)


def run_dir(out, protocol: str, phase: str, dataset: str, method: str, seed: int, shots=16, cfg="vit_b16") -> str:
    parts = [protocol] + ([phase] if phase else []) + [dataset, f"shots_{shots}", method, cfg, f"seed{seed}"]
    return os.path.join(str(out), *parts)


def finished_run(out, protocol, phase, dataset, method, seed, accuracy, **kwargs) -> str:
    """A run whose log ends with the final test block and Dassl's elapsed-time line."""
    text = "epoch [1/1] batch [1/1] loss 1.0\n" + dassl_block(accuracy) + "Elapsed: 0:00:01\n"
    return write_log(run_dir(out, protocol, phase, dataset, method, seed, **kwargs), text)


def base2new_run(out, dataset, method, seed, base, new, **kwargs) -> None:
    finished_run(out, "base2new", "train_base", dataset, method, seed, base, **kwargs)
    finished_run(out, "base2new", "test_new", dataset, method, seed, new, **kwargs)


def entry(report, **fields):
    matches = [e for e in report.entries if all(getattr(e, k) == v for k, v in fields.items())]
    assert len(matches) == 1, matches
    return matches[0]


def markdown_row(text: str, *cells: str) -> str:
    """The one Markdown table row whose leading cells are `cells`."""
    prefix = "| " + " | ".join(cells) + " |"
    rows = [line for line in text.splitlines() if line.startswith(prefix)]
    assert len(rows) == 1, (prefix, rows)
    return rows[0]


# --- log parsing -----------------------------------------------------------------------------------------------


def test_result_block_gives_accuracy_from_counts_with_thousands_separators():
    text = "=> result\n* total: 1,250\n* correct: 1,001\n* accuracy: 80.1%\n* error: 19.9%\n* macro_f1: 79.5%\n"
    (result,) = parse_result_blocks(text)
    assert (result.total, result.correct) == (1250, 1001)
    assert result.accuracy == pytest.approx(100 * 1001 / 1250)
    assert (result.error, result.macro_f1) == (19.9, 79.5)


def test_validation_blocks_are_not_test_results():
    text = dassl_block(50.0, split="val") + "epoch [2/2]\n" + dassl_block(60.0, split="val")
    assert parse_result_blocks(text) == []
    assert [r.accuracy for r in parse_result_blocks(text + dassl_block(70.0))] == [70.0]


def test_validation_blocks_of_dassl_before_0_6_1_are_not_test_results():
    # Dassl before 0.6.1, the KgCoOp/ProGrad fork among them, names the split this way and prints two decimals.
    val, test = (f"Do evaluation on {split} set\n=> result\n* total: 8\n* correct: {correct}\n* accuracy: "
                 f"{100 * correct / 8:.2f}%\n" for split, correct in (("val", 4), ("test", 5)))
    assert parse_result_blocks(val) == []
    assert [r.accuracy for r in parse_result_blocks(val + test + val)] == [62.5]


def test_last_block_of_newest_log_that_has_one_is_the_result(tmp_path):
    write_log(tmp_path, dassl_block(50.0), "log.txt")
    write_log(tmp_path, dassl_block(60.0) + dassl_block(70.0), "log.txt-2024-03-01-10-00-00")
    write_log(tmp_path, "epoch [1/5]\nTraceback (most recent call last):\n", "log.txt-2024-03-02-09-00-00")
    result = read_run_log(str(tmp_path)).result
    assert result is not None
    assert result.accuracy == 70.0
    assert result.log_file.endswith("log.txt-2024-03-01-10-00-00")


def test_newest_log_wins_over_older_ones_with_results(tmp_path):
    write_log(tmp_path, dassl_block(90.0), "log.txt-2024-03-02-09-00-00")
    write_log(tmp_path, dassl_block(80.0), "log.txt-2024-12-31-23-59-59")
    write_log(tmp_path, dassl_block(70.0), "log.txt")
    assert read_run_log(str(tmp_path)).result.accuracy == 80.0


def test_unknown_format_is_rejected_with_the_valid_ones(tmp_path):
    base2new_run(tmp_path, "dtd", "MoPD", 1, 80.0, 70.0)
    with pytest.raises(ValueError, match="markdown, csv, json"):
        render(build_report(str(tmp_path)), "xml")  # type: ignore[arg-type]


def test_run_without_result_says_why(tmp_path):
    assert "no log.txt" in read_run_log(str(tmp_path)).problem
    write_log(tmp_path / "notest", "epoch [1/1]\nElapsed: 0:00:03\n")
    assert "without a final test" in read_run_log(str(tmp_path / "notest")).problem
    write_log(tmp_path / "crash", "epoch [1/1]\nRuntimeError: CUDA out of memory\n")
    assert "crashed" in read_run_log(str(tmp_path / "crash")).problem


# --- base-to-new -----------------------------------------------------------------------------------------------


def test_base2new_mean_sample_std_and_hm_of_means(tmp_path):
    for seed, base, new in [(1, 80.0, 70.0), (2, 82.0, 71.0), (3, 84.0, 75.0)]:
        base2new_run(tmp_path, "dtd", "MoPD", seed, base, new)
    report = build_report(str(tmp_path))
    base = entry(report, dataset="dtd", metric="base")
    new = entry(report, dataset="dtd", metric="new")
    hm = entry(report, dataset="dtd", metric="hm")
    assert (base.value, base.std) == (pytest.approx(82.0), pytest.approx(2.0))
    assert new.value == pytest.approx(72.0)
    assert new.std == pytest.approx(math.sqrt((4 + 1 + 9) / 2))  # ddof=1
    assert hm.value == pytest.approx(2 * 82.0 * 72.0 / (82.0 + 72.0))
    assert dict(base.per_seed) == {1: 80.0, 2: 82.0, 3: 84.0}
    text = render(report)
    assert markdown_row(text, "DTD", "MoPD") == (
        f"| DTD | MoPD | vit_b16 | 16 | 82.00 ± 2.00 | 72.00 ± 2.65 | {2 * 82 * 72 / 154:.2f} | 1, 2, 3 |"
    )
    assert "sample std (ddof=1)" in text


def test_single_seed_shows_mean_without_std(tmp_path):
    base2new_run(tmp_path, "dtd", "CoOp", 1, 81.0, 60.0)
    report = build_report(str(tmp_path))
    assert entry(report, dataset="dtd", metric="base").std is None
    assert "| DTD | CoOp | vit_b16 | 16 | 81.00 | 60.00 |" in render(report)


def test_average_row_is_hm_of_averages_not_average_of_hms(tmp_path):
    pairs = {d: (60.0 + 3 * i, 90.0 - 4 * i) for i, d in enumerate(BENCHMARK_DATASETS)}
    for dataset, (base, new) in pairs.items():
        base2new_run(tmp_path, dataset, "MoPD", 1, base, new)
    base2new_run(tmp_path, "synthetic", "MoPD", 1, 10.0, 10.0)  # shown, but not one of the 11
    report = build_report(str(tmp_path))
    mean_base = sum(b for b, _ in pairs.values()) / 11
    mean_new = sum(n for _, n in pairs.values()) / 11
    hm_of_averages = 2 * mean_base * mean_new / (mean_base + mean_new)
    average_of_hms = sum(2 * b * n / (b + n) for b, n in pairs.values()) / 11
    assert abs(hm_of_averages - average_of_hms) > 0.5  # the test data tells the two apart
    assert entry(report, dataset="average", metric="base").value == pytest.approx(mean_base)
    assert entry(report, dataset="average", metric="new").value == pytest.approx(mean_new)
    assert entry(report, dataset="average", metric="hm").value == pytest.approx(hm_of_averages)
    text = render(report)
    row = markdown_row(text, "Average over 11 datasets", "MoPD")
    assert f"| {mean_base:.2f} | {mean_new:.2f} | {hm_of_averages:.2f} |" in row
    assert "| Synthetic" not in text and "| synthetic | MoPD |" in text


def test_average_row_names_the_missing_datasets(tmp_path):
    for dataset in BENCHMARK_DATASETS:
        if dataset not in ("eurosat", "ucf101"):
            base2new_run(tmp_path, dataset, "KgCoOp", 1, 80.0, 70.0)
    finished_run(tmp_path, "base2new", "train_base", "ucf101", "KgCoOp", 1, 80.0)  # base without new
    report = build_report(str(tmp_path))
    assert entry(report, dataset="average", metric="base").missing == ("eurosat",)
    assert entry(report, dataset="average", metric="new").missing == ("eurosat", "ucf101")
    assert entry(report, dataset="average", metric="hm").value is None
    row = markdown_row(render(report), "Average over 11 datasets", "KgCoOp")
    assert "| incomplete: missing EuroSAT | incomplete: missing EuroSAT, UCF101 | incomplete |" in row


def test_eval_only_base_run_counts_as_base_for_zero_shot(tmp_path):
    finished_run(tmp_path, "base2new", "test_base", "dtd", "ZeroshotCLIP", 1, 53.0)
    finished_run(tmp_path, "base2new", "test_new", "dtd", "ZeroshotCLIP", 1, 60.0)
    report = build_report(str(tmp_path))
    assert entry(report, dataset="dtd", method="ZeroshotCLIP", metric="hm").value == pytest.approx(2 * 53 * 60 / 113)
    assert report.problems == []


# --- incomplete runs ---------------------------------------------------------------------------------------------


def test_missing_seed_missing_new_run_and_crashed_runs_are_named_with_paths(tmp_path):
    for seed in (1, 3):
        base2new_run(tmp_path, "eurosat", "CoOp", seed, 80.0, 60.0)
    finished_run(tmp_path, "base2new", "train_base", "dtd", "CoOp", 1, 75.0)  # its new run never ran
    crashed = write_log(run_dir(tmp_path, "base2new", "train_base", "oxford_pets", "CoOp", 2), "Traceback\n")
    finished_run(tmp_path, "base2new", "test_new", "oxford_pets", "CoOp", 1, 50.0)  # seed 1's base run is missing
    no_test = write_log(run_dir(tmp_path, "few_shot", "", "dtd", "MoPD", 1, shots=4), "Elapsed: 0:00:01\n")
    expected = {
        ("eurosat", "CoOp", 2, run_dir(tmp_path, "base2new", "train_base", "eurosat", "CoOp", 2)): "seed 2 missing",
        ("dtd", "CoOp", 1, run_dir(tmp_path, "base2new", "test_new", "dtd", "CoOp", 1)): "base run without its new run",
        ("oxford_pets", "CoOp", 1, run_dir(tmp_path, "base2new", "train_base", "oxford_pets", "CoOp", 1)): (
            "new run without its base run"
        ),
        ("oxford_pets", "CoOp", 2, crashed): "crashed",
        ("dtd", "MoPD", 1, no_test): "without a final test",
    }
    report = build_report(str(tmp_path))
    problems = {(p.dataset, p.method, p.seed, p.path): p.reason for p in report.problems}
    assert set(problems) == set(expected)
    for key, reason in expected.items():
        assert reason in problems[key]
    text = render(report)
    section = text[text.index("## Missing / incomplete runs") :]
    for dataset, method, seed, path in expected:
        assert f"| {dataset} | {method} |" in section and f"| {seed} |" in section and path in section


def test_complete_seeds_report_no_problems(tmp_path):
    for seed in (1, 2, 3):
        base2new_run(tmp_path, "dtd", "MoPD", seed, 80.0, 70.0)
    report = build_report(str(tmp_path))
    assert report.problems == []
    assert render(report).rstrip().endswith("None.")


def test_directory_outside_the_layout_is_reported(tmp_path):
    base2new_run(tmp_path, "dtd", "MoPD", 1, 80.0, 70.0)
    stray = write_log(tmp_path / "base2new" / "train_base" / "dtd" / "MoPD" / "seed1", dassl_block(80.0))
    (problem,) = build_report(str(tmp_path)).problems
    assert problem.path == stray and "unrecognised" in problem.reason


# --- cross-dataset, domain generalisation, few-shot -------------------------------------------------------------


def test_cross_dataset_source_targets_and_average_over_ten(tmp_path):
    for seed, source in [(1, 70.0), (2, 72.0)]:
        finished_run(tmp_path, "cross_dataset", "train", "imagenet", "MoPD", seed, source)
        for i, dataset in enumerate(BENCHMARK_DATASETS[1:]):
            finished_run(tmp_path, "cross_dataset", "test", dataset, "MoPD", seed, 40.0 + i + seed)
    report = build_report(str(tmp_path))
    assert entry(report, protocol="cross_dataset", metric="source").value == pytest.approx(71.0)
    assert entry(report, protocol="cross_dataset", dataset="dtd").value == pytest.approx(40.0 + 7 + 1.5)
    target_means = [40.0 + i + 1.5 for i in range(10)]
    average = entry(report, protocol="cross_dataset", dataset="average")
    assert average.value == pytest.approx(sum(target_means) / 10)
    row = markdown_row(render(report), "MoPD", "vit_b16", "16")
    assert row.startswith("| MoPD | vit_b16 | 16 | 71.00 ± 1.41 | 41.50 ± 0.71 | 42.50 ± 0.71 |")
    assert row.endswith(f"| {sum(target_means) / 10:.2f} | 1, 2 |")
    assert report.problems == []


def test_domain_generalisation_takes_source_from_cross_dataset_training(tmp_path):
    finished_run(tmp_path, "cross_dataset", "train", "imagenet", "CoCoOp", 1, 71.0)
    variants = {"imagenetv2": 64.0, "imagenet_sketch": 48.0, "imagenet_a": 50.0, "imagenet_r": 76.0}
    for variant, accuracy in variants.items():
        finished_run(tmp_path, "domain_generalization", "test", variant, "CoCoOp", 1, accuracy)
    report = build_report(str(tmp_path), "domain_generalization")
    assert {e.protocol for e in report.entries} == {"domain_generalization"}
    assert entry(report, metric="source").value == 71.0
    assert entry(report, dataset="average").value == pytest.approx(sum(variants.values()) / 4)
    assert "| CoCoOp | vit_b16 | 16 | 71.00 | 64.00 | 48.00 | 50.00 | 76.00 | 59.50 | 1 |" in render(report)


def test_domain_generalisation_reports_missing_variant_and_source(tmp_path):
    finished_run(tmp_path, "domain_generalization", "test", "imagenet_a", "CoOp", 1, 50.0)
    report = build_report(str(tmp_path))
    assert entry(report, dataset="average").missing == ("imagenetv2", "imagenet_sketch", "imagenet_r")
    (problem,) = report.problems
    assert problem.path == run_dir(tmp_path, "cross_dataset", "train", "imagenet", "CoOp", 1)


def test_few_shot_accuracy_per_shots_and_missing_seed(tmp_path):
    for shots, accs in {1: (40.0, 42.0), 2: (45.0, 47.0), 16: (60.0, None)}.items():
        for seed, acc in enumerate(accs, start=1):
            if acc is not None:
                finished_run(tmp_path, "few_shot", "", "eurosat", "CoOp", seed, acc, shots=shots)
    report = build_report(str(tmp_path))
    assert entry(report, dataset="eurosat", shots=2).value == pytest.approx(46.0)
    text = render(report)
    assert "| Dataset | Method | Config | 1 shot | 2 shots | 16 shots | Seeds |" in text
    row = markdown_row(text, "EuroSAT", "CoOp")
    assert row == "| EuroSAT | CoOp | vit_b16 | 41.00 ± 1.41 | 46.00 ± 1.41 | 60.00 | 1, 2 |"
    (problem,) = report.problems
    assert problem.path == run_dir(tmp_path, "few_shot", "", "eurosat", "CoOp", 2, shots=16)


# --- output formats and the command line -----------------------------------------------------------------------


@pytest.fixture
def full_tree(tmp_path):
    out = tmp_path / "output"
    for seed, base, new in [(1, 80.0, 70.0), (2, 82.0, 71.0), (3, 84.0, 75.0)]:
        base2new_run(out, "dtd", "MoPD", seed, base, new)
    finished_run(out, "base2new", "train_base", "eurosat", "MoPD", 1, 90.0)
    for shots, acc in [(1, 40.0), (4, 50.0)]:
        finished_run(out, "few_shot", "", "dtd", "CoOp", 1, acc, shots=shots)
    return out


def test_csv_output_parses_with_numbers_and_incomplete_runs(full_tree, capsys):
    assert main([str(full_tree), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    dtd_base = next(r for r in rows if (r["dataset"], r["metric"]) == ("dtd", "base"))
    assert float(dtd_base["value"]) == pytest.approx(82.0) and float(dtd_base["std"]) == pytest.approx(2.0)
    assert dtd_base["seeds"] == "1;2;3"
    (missing,) = [r for r in rows if r["metric"] == "incomplete_run"]
    assert missing["path"] == run_dir(full_tree, "base2new", "test_new", "eurosat", "MoPD", 1)
    assert "base run without its new run" in missing["note"]


def test_json_output_has_every_per_seed_number(full_tree, capsys):
    assert main([str(full_tree), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    dtd_new = [r for r in document["runs"] if (r["dataset"], r["phase"]) == ("dtd", "test_new")]
    assert sorted((r["seed"], r["result"]["accuracy"], r["result"]["total"]) for r in dtd_new) == [
        (1, 70.0, 1000),
        (2, 71.0, 1000),
        (3, 75.0, 1000),
    ]
    hm = next(e for e in document["entries"] if (e["dataset"], e["metric"]) == ("dtd", "hm"))
    assert hm["value"] == pytest.approx(2 * 82 * 72 / 154)
    assert hm["per_seed"]["3"] == pytest.approx(2 * 84 * 75 / 159)
    assert [p["seed"] for p in document["incomplete"]] == [1]


def test_output_file_is_written_atomically_instead_of_stdout(full_tree, tmp_path, capsys, monkeypatch):
    target = tmp_path / "tables" / "results.md"
    replaced = []
    real_replace = os.replace

    def recording_replace(src, dst):
        replaced.append((os.path.dirname(src), os.path.basename(src), dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", recording_replace)
    assert main([str(full_tree), "--output", str(target)]) == 0
    ((tmp_dir, tmp_name, dst),) = replaced
    assert dst == str(target) and tmp_dir == str(target.parent) and tmp_name != "results.md"
    assert capsys.readouterr().out == ""
    assert "| DTD | MoPD | vit_b16 | 16 | 82.00 ± 2.00 |" in target.read_text()
    assert os.listdir(target.parent) == ["results.md"]  # no temporary file left behind


def test_plot_writes_valid_pngs_for_base2new_and_few_shot(full_tree, tmp_path):
    plot = tmp_path / "plots" / "results.png"
    assert main([str(full_tree), "--plot", str(plot), "--output", str(tmp_path / "r.md")]) == 0
    for path in (plot, tmp_path / "plots" / "results_few_shot.png"):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(path) as image:
            image.verify()
            assert image.size[0] > 100 and image.size[1] > 100


def test_protocol_option_restricts_the_tables(full_tree, capsys):
    assert main([str(full_tree), "--protocol", "few_shot"]) == 0
    text = capsys.readouterr().out
    assert "## Few-shot learning" in text and "Base-to-new" not in text and "eurosat" not in text


def test_missing_output_dir_exits_2_with_a_clear_message(tmp_path, capsys):
    assert main([str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_no_runs_found_exits_1_with_a_clear_message(tmp_path, caplog):
    (tmp_path / "base2new").mkdir()
    assert main([str(tmp_path)]) == 1
    assert "No runs found" in caplog.text


def test_module_entry_point_exit_codes(full_tree, tmp_path):
    env = {**os.environ, "PYTHONPATH": REPO_ROOT}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "mopd.results", *args], capture_output=True, text=True, env=env)

    done = run(str(full_tree))
    assert done.returncode == 0 and "## Base-to-new generalisation" in done.stdout
    missing = run(str(tmp_path / "absent"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    bad_format = run(str(full_tree), "--format", "xml")
    assert bad_format.returncode == 2 and "invalid choice" in bad_format.stderr
