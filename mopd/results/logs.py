"""Reading Dassl's evaluation result block (`=> result`, `* accuracy: X%`, ...) from a run's log files."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

# Dassl's setup_logger never overwrites a log: a re-run writes log.txt-YYYY-MM-DD-HH-MM-SS beside it.
_LOG_NAME = re.compile(r"^log\.txt(?:-(\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}))?$")
_BLOCK_FIELD = re.compile(r"^\* (total|correct|accuracy|error|macro_f1): ([\d,]+(?:\.\d+)?)%?$")
# Dassl 0.6.1+ prints "Evaluate on the *test* set"; older ones (the KgCoOp/ProGrad fork) "Do evaluation on test set".
_EVAL_SPLIT = re.compile(r"Evaluate on the \*(\w+)\* set|Do evaluation on (\w+) set")
_FINISHED = re.compile(r"^Elapsed:", re.MULTILINE)


@dataclass(frozen=True)
class EvalResult:
    """One printed `=> result` block of a test evaluation."""

    accuracy: float  # percent: 100 * correct / total when both are printed, else the printed value
    total: int | None
    correct: int | None
    error: float | None  # percent, as printed
    macro_f1: float | None  # percent, as printed
    log_file: str  # the file the block was read from


@dataclass(frozen=True)
class RunLog:
    """What a run directory's logs say: its final result, or why it has none."""

    result: EvalResult | None
    problem: str  # empty when `result` is set


def list_log_files(run_dir: str) -> list[str]:
    """Dassl log files in `run_dir`, newest first (log.txt is the oldest, re-runs carry a timestamp)."""
    if not os.path.isdir(run_dir):
        return []
    stamped = []
    for name in os.listdir(run_dir):
        match = _LOG_NAME.match(name)
        if match and os.path.isfile(os.path.join(run_dir, name)):
            stamped.append((match.group(1) or "", name))
    return [os.path.join(run_dir, name) for _, name in sorted(stamped, reverse=True)]


def parse_result_blocks(text: str, log_file: str = "") -> list[EvalResult]:
    """Every result block in `text` that is not a validation-set evaluation, in the order printed."""
    results = []
    split = ""
    fields: dict[str, str] | None = None
    for raw_line in text.splitlines() + [""]:
        line = raw_line.strip()
        if fields is not None:
            match = _BLOCK_FIELD.match(line)
            if match:
                fields[match.group(1)] = match.group(2).replace(",", "")
                continue
            if "accuracy" in fields and split != "val":
                results.append(_to_result(fields, log_file))
            fields = None
        split_match = _EVAL_SPLIT.search(line)
        if split_match:
            split = split_match.group(1) or split_match.group(2)
        elif line == "=> result":
            fields = {}
    return results


def _to_result(fields: dict[str, str], log_file: str) -> EvalResult:
    total = int(fields["total"]) if "total" in fields else None
    correct = int(fields["correct"]) if "correct" in fields else None
    if total and correct is not None:
        accuracy = 100.0 * correct / total
    else:
        accuracy = float(fields["accuracy"])
    return EvalResult(
        accuracy=accuracy,
        total=total,
        correct=correct,
        error=float(fields["error"]) if "error" in fields else None,
        macro_f1=float(fields["macro_f1"]) if "macro_f1" in fields else None,
        log_file=log_file,
    )


def read_run_log(run_dir: str) -> RunLog:
    """The last result block of the newest log that has one; otherwise why the run has no result."""
    log_files = list_log_files(run_dir)
    if not log_files:
        return RunLog(None, "no log.txt: the run never started or its log was removed")
    newest_text = ""
    for log_file in log_files:
        with open(log_file, encoding="utf-8", errors="replace") as f:
            text = f.read()
        newest_text = newest_text or text
        blocks = parse_result_blocks(text, log_file)
        if blocks:
            return RunLog(blocks[-1], "")
    newest = log_files[0]
    if _FINISHED.search(newest_text):
        return RunLog(None, f"finished without a test result (train run without a final test): {newest}")
    return RunLog(None, f"no result block: the run crashed or is still running: {newest}")
