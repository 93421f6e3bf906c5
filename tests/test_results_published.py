"""Tests of the published numbers (mopd/results/published.csv), the reproduction report and the LaTeX tables."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import statistics

import pytest

from mopd.results.aggregate import AVERAGE, harmonic_mean
from mopd.results.cli import main
from mopd.results.latex import bold_best
from mopd.results.names import BENCHMARK_DATASETS, METHOD_ORDER
from mopd.results.published import PUBLISHED_FILE, Comparison, load_published
from test_results import base2new_run, finished_run

# --- the data file ---------------------------------------------------------------------------------------------


def test_every_published_row_is_a_known_dataset_and_method_with_a_source():
    rows = load_published()
    assert rows
    for row in rows:
        assert row.protocol == "base2new"
        assert row.dataset in BENCHMARK_DATASETS + (AVERAGE,)
        assert row.method in METHOD_ORDER
        assert "arXiv:" in row.source and "Table" in row.source


def _methods_with_per_dataset_rows() -> list[str]:
    return sorted({row.method for row in load_published() if row.dataset != AVERAGE})


def test_the_per_dataset_tables_are_the_ones_traced_to_a_source():
    assert _methods_with_per_dataset_rows() == ["CoCoOp", "CoOp", "KgCoOp", "ZeroshotCLIP"]


@pytest.mark.parametrize("method", _methods_with_per_dataset_rows())
def test_per_dataset_rows_cover_the_11_datasets_and_average_to_the_published_average(method):
    rows = {row.dataset: row for row in load_published() if row.method == method}
    assert set(rows) == set(BENCHMARK_DATASETS) | {AVERAGE}
    per_dataset = [rows[d] for d in BENCHMARK_DATASETS]
    # the papers print two decimals: the mean of 11 printed numbers is within 0.006 of the printed mean
    assert sum(r.base for r in per_dataset) / 11 == pytest.approx(rows[AVERAGE].base, abs=0.006)
    assert sum(r.new for r in per_dataset) / 11 == pytest.approx(rows[AVERAGE].new, abs=0.006)


@pytest.mark.parametrize("row", load_published(), ids=lambda r: f"{r.method}-{r.dataset}")
def test_every_published_hm_is_the_harmonic_mean_of_its_base_and_new(row):
    # two-decimal inputs: the HM of the printed Base and New is within 0.01 of the printed HM
    assert harmonic_mean(row.base, row.new) == pytest.approx(row.hm, abs=0.01)


def test_a_malformed_published_file_is_rejected_naming_its_line(tmp_path, capsys):
    base2new_run(tmp_path / "out", "dtd", "CoOp", 1, 80.0, 50.0)
    bad = tmp_path / "published.csv"
    bad.write_text("# comment\nprotocol,dataset,method,base,new,hm,source\nbase2new,dtd,CoOp,80,x,60,paper\n")
    assert main([str(tmp_path / "out"), "--published", str(bad)]) == 2
    assert f"{bad}:3: Base, New and HM must be numbers" in capsys.readouterr().err


# --- flagging --------------------------------------------------------------------------------------------------


def _cell(ours: float, published: float, std: float | None) -> Comparison:
    return Comparison("dtd", "CoOp", "cfg", 16, "base", ours, std, published, "paper")


@pytest.mark.parametrize(
    ("ours", "published", "std", "flagged"),
    [
        (73.43, 72.43, None, False),  # exactly 1 point: not more than max(1, 0)
        (73.44, 72.43, None, True),
        (71.42, 72.43, None, True),  # below by 1.01
        (71.43, 72.43, 0.4, False),  # 2 std = 0.8 < 1 point: the point wins
        (73.44, 72.43, 0.4, True),
        (74.03, 72.43, 0.8, False),  # exactly 2 std = 1.6
        (74.04, 72.43, 0.8, True),
        (70.83, 72.43, 0.8, False),
        (70.82, 72.43, 0.8, True),
    ],
)
def test_a_cell_is_flagged_exactly_when_off_by_more_than_max_one_point_two_std(ours, published, std, flagged):
    assert _cell(ours, published, std).flagged is flagged


# --- the report on a study -------------------------------------------------------------------------------------

# Per-seed Base and New (multiples of 0.1, as the fake logs count 1000 test images) of a small study.
STUDY = {
    ("imagenet", "CoOp"): ([76.0, 77.0, 78.0], [64.8, 64.9, 65.0]),
    ("imagenet", "CoCoOp"): ([75.5, 76.0, 76.4], [70.0, 70.9, 70.5]),
    ("caltech101", "CoOp"): ([97.9, 98.1, 98.0], [88.0, 90.0, 92.0]),
    ("caltech101", "MoPD"): ([98.0, 98.2, 98.4], [94.0, 94.5, 95.0]),
}


@pytest.fixture
def study(tmp_path):
    out = tmp_path / "output"
    for (dataset, method), (bases, news) in STUDY.items():
        for seed, (base, new) in enumerate(zip(bases, news), start=1):
            base2new_run(out, dataset, method, seed, base, new, cfg="vit_b16_ctxv1")
    return str(out)


def _expected_cells() -> dict[tuple[str, str, str], tuple[float, float, bool]]:
    """(dataset, method, metric) -> (ours, published, flagged), computed here from the data file."""
    published = {(r.dataset, r.method): r for r in load_published()}
    expected = {}
    for (dataset, method), (bases, news) in STUDY.items():
        row = published.get((dataset, method))
        if row is None:
            continue
        hms = [harmonic_mean(b, n) for b, n in zip(bases, news)]
        values = {
            "base": (statistics.mean(bases), statistics.stdev(bases)),
            "new": (statistics.mean(news), statistics.stdev(news)),
            "hm": (harmonic_mean(statistics.mean(bases), statistics.mean(news)), statistics.stdev(hms)),
        }
        for metric, (ours, std) in values.items():
            paper = getattr(row, metric)
            expected[(dataset, method, metric)] = (ours, paper, abs(ours - paper) > max(1.0, 2 * std))
    return expected


def test_markdown_report_puts_published_numbers_beside_ours_and_flags_exactly_the_off_cells(study, capsys):
    assert main([study, "--published"]) == 0
    text = capsys.readouterr().out
    section = text.split("## Reproduction: base-to-new against the published numbers")[1].split("## Missing")[0]
    expected = _expected_cells()
    assert any(flagged for *_, flagged in expected.values()) and not all(f for *_, f in expected.values())
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]
    seen = {}
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        dataset = {"ImageNet": "imagenet", "Caltech101": "caltech101"}[cells[0]]
        for i, metric in enumerate(("base", "new", "hm")):
            ours, paper, delta = cells[3 + 3 * i: 6 + 3 * i]
            seen[(dataset, cells[1], metric)] = (float(ours.split(" ± ")[0]), float(paper), delta.endswith("⚠"))
            assert float(delta.split()[0]) == pytest.approx(float(ours.split(" ± ")[0]) - float(paper), abs=0.011)
    assert seen.keys() == expected.keys()  # MoPD has no published numbers: not compared
    for key, (ours, paper, flagged) in expected.items():
        assert seen[key][0] == pytest.approx(ours, abs=0.005) and seen[key][1] == paper
        assert seen[key][2] is flagged, key
    flagged_count = sum(f for *_, f in expected.values())
    assert f"{flagged_count} of {len(expected)} cells are off target" in section
    assert "- CoCoOp: CoCoOp paper (Zhou et al." in section and "arXiv:2203.05557), Table 1" in section


def test_published_numbers_are_read_from_the_given_file(study, tmp_path, capsys):
    mine = tmp_path / "mine.csv"
    mine.write_text(
        "protocol,dataset,method,base,new,hm,source\n"
        "base2new,caltech101,MoPD,98.20,94.50,96.31,my notes\n"
    )
    assert main([study, "--published", str(mine), "--format", "json"]) == 0
    cells = json.loads(capsys.readouterr().out)["reproduction"]
    assert {(c["dataset"], c["method"], c["metric"]) for c in cells} == {
        ("caltech101", "MoPD", m) for m in ("base", "new", "hm")
    }
    assert all(c["source"] == "my notes" and not c["flagged"] for c in cells)
    assert [c["published"] for c in cells] == [98.2, 94.5, 96.31]


def test_csv_report_adds_one_published_row_per_compared_cell(study, capsys):
    assert main([study, "--published", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    published = [r for r in rows if r["metric"].endswith("_published")]
    expected = _expected_cells()
    assert len(published) == len(expected)
    for r in published:
        flagged = expected[(r["dataset"], r["method"], r["metric"].removesuffix("_published"))][2]
        assert r["note"].endswith("off target" if flagged else "within tolerance")


def test_latex_report_has_the_papers_layout_with_published_rows_and_the_best_in_bold(study, capsys):
    assert main([study, "--published", "--format", "latex"]) == 0
    text = capsys.readouterr().out
    # blocks: the 11-dataset average (ours incomplete: "--"), ImageNet, Caltech101
    assert text.count(r"\begin{tabular}{lccc}") == 3 and text.count(r"\toprule") == 3
    assert r"\begin{table*}" in text and r"\bottomrule" in text and r"\caption{Base-to-new" in text
    imagenet = text.split(r"\multicolumn{4}{c}{ImageNet}")[1].split(r"\end{tabular}")[0]
    rows = {line.split(" & ")[0]: line for line in imagenet.splitlines() if " & " in line}
    assert list(rows) == [
        "", "CLIP (paper)", "CoOp (paper)", "CoOp (ours)", "CoCoOp (paper)", "CoCoOp (ours)", "KgCoOp (paper)",
    ]  # KgCoOp has published numbers only
    assert rows["KgCoOp (paper)"] == r"KgCoOp (paper) & 75.83 & 69.96 & 72.78 \\"
    assert rows["CoOp (ours)"] == r"CoOp (ours) & \textbf{77.00} & 64.90 & 70.43 \\"  # best Base of the block
    assert rows["CoCoOp (paper)"] == r"CoCoOp (paper) & 75.98 & 70.43 & 73.10 \\"
    assert rows["CoCoOp (ours)"] == r"CoCoOp (ours) & 75.97 & \textbf{70.47} & \textbf{73.11} \\"
    average = text.split(r"\multicolumn{4}{c}{Average over 11 datasets}")[1].split(r"\end{tabular}")[0]
    assert r"CoOp (ours) & -- & -- & -- \\" in average and r"KgCoOp (paper) & 80.73 & 73.60 & 77.00 \\" in average
    assert r"MaPLe (paper) & 82.28 & 75.14 & 78.55 \\" in average
    assert r"PromptSRC (paper) & \textbf{84.26} & \textbf{76.10} & \textbf{79.97} \\" in average  # the best published
    assert "% CoCoOp (paper): CoCoOp paper (Zhou et al." in text
    caltech = text.split(r"\multicolumn{4}{c}{Caltech101}")[1].split(r"\end{tabular}")[0]
    assert "MoPD &" in caltech and "MoPD (paper)" not in caltech  # no published MoPD numbers


def test_latex_report_without_published_numbers_has_our_rows_only(study, capsys):
    assert main([study, "--format", "latex"]) == 0
    text = capsys.readouterr().out
    assert "(paper)" not in text and "(ours)" not in text
    assert re.search(r"^CoOp & [\d.]+ & [\d.]+ & [\d.]+ \\\\$", text, flags=re.M)


def test_bold_best_marks_every_tie_and_skips_missing_values():
    cells = bold_best([("a", [80.0, None]), ("b", [80.001, 70.0]), ("c", [79.0, None])])
    assert cells == [[r"\textbf{80.00}", "--"], [r"\textbf{80.00}", r"\textbf{70.00}"], ["79.00", "--"]]


def test_packaged_published_file_is_the_default(study, capsys):
    assert os.path.isfile(PUBLISHED_FILE)
    assert main([study, "--published", "--format", "json"]) == 0
    cells = json.loads(capsys.readouterr().out)["reproduction"]
    cocoop_imagenet = {
        c["metric"]: c["published"] for c in cells if (c["dataset"], c["method"]) == ("imagenet", "CoCoOp")
    }
    assert cocoop_imagenet == {"base": 75.98, "new": 70.43, "hm": 73.10}


def test_latex_tables_of_cross_dataset_domain_generalisation_and_few_shot(tmp_path, capsys):
    out = tmp_path / "output"
    for method, source in (("CoOp", 71.0), ("MoPD", 72.0)):
        finished_run(out, "cross_dataset", "train", "imagenet", method, 1, source, cfg="vit_b16_ep50_ctxv1")
        finished_run(out, "cross_dataset", "test", "dtd", method, 1, source - 25.0, cfg="vit_b16_ep50_ctxv1")
        finished_run(out, "domain_generalization", "test", "imagenet_a", method, 1, source - 20.0,
                     cfg="vit_b16_ep50_ctxv1")
    for shots, acc in ((1, 40.0), (4, 50.0)):
        finished_run(out, "few_shot", "", "dtd", "CoOp", 1, acc, shots=shots)
    assert main([str(out), "--format", "latex"]) == 0
    text = capsys.readouterr().out
    assert r"\caption{Cross-dataset transfer: accuracy (\%).}" in text
    assert r"\caption{Domain generalisation: accuracy (\%).}" in text
    assert r"\caption{Few-shot learning: accuracy (\%).}" in text
    assert r" & ImageNet (source) & DTD & Average \\" in text
    assert r"MoPD & \textbf{72.00} & \textbf{47.00} & -- \\" in text  # 1 of 10 targets: no average
    assert r"CoOp & 71.00 & 46.00 & -- \\" in text
    assert r"Shots & 1 & 4 \\" in text and r"CoOp & \textbf{40.00} & \textbf{50.00} \\" in text
