"""Published base-to-new numbers (`published.csv`, each row with its source) and our runs compared with them.

A cell is off target when |ours - published| > max(1 point, 2 std), std being the sample std of
our per-seed values (0 for one seed and for averages over datasets, which have no seeds).
"""
from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mopd.results.aggregate import Entry, sample_std

PUBLISHED_FILE = str(Path(__file__).with_name("published.csv"))
PUBLISHED_SHOTS = 16  # every published base-to-new number is 16-shot: other shot counts are not compared
METRICS: tuple[str, ...] = ("base", "new", "hm")
MIN_TOLERANCE = 1.0  # accuracy points
STD_TOLERANCE = 2.0  # multiples of our std over seeds
# Float round-off of "ours - published" (e.g. 73.43 - 72.43 = 1.0000000000000142) must not flag a
# difference that equals the tolerance.
_ROUND_OFF = 1e-9
_COLUMNS = ("protocol", "dataset", "method", "base", "new", "hm", "source")


@dataclass(frozen=True)
class PublishedRow:
    """One published (protocol, dataset, method) result: Base, New and HM in %, and where it is printed."""

    protocol: str
    dataset: str
    method: str
    base: float
    new: float
    hm: float
    source: str


@dataclass(frozen=True)
class Comparison:
    """One of our cells (mean over seeds) beside the published number for the same dataset, method and metric."""

    dataset: str
    method: str
    cfg: str
    shots: int
    metric: str
    ours: float
    std: float | None  # sample std of our per-seed values; None below two seeds or for an average
    published: float
    source: str

    @property
    def difference(self) -> float:
        """Ours minus published, in points."""
        return self.ours - self.published

    @property
    def tolerance(self) -> float:
        """max(1 point, 2 std): how far ours may be from the published number before it is flagged."""
        return tolerance(self.std)

    @property
    def flagged(self) -> bool:
        """True when ours is off the published number by more than the tolerance."""
        return abs(self.difference) > self.tolerance + _ROUND_OFF


def tolerance(std: float | None) -> float:
    """max(MIN_TOLERANCE, STD_TOLERANCE * std), std None counting as 0."""
    return max(MIN_TOLERANCE, STD_TOLERANCE * (std or 0.0))


def load_published(path: str = PUBLISHED_FILE) -> list[PublishedRow]:
    """Read a published-results CSV (`#` lines are comments); raise ValueError naming a malformed line."""
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"published-results file {path!r} not found: pass a CSV with columns {', '.join(_COLUMNS)}"
        )
    with open(path, encoding="utf-8", newline="") as f:
        lines = [(number, line) for number, line in enumerate(f, start=1) if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(line for _, line in lines)
    if tuple(reader.fieldnames or ()) != _COLUMNS:
        raise ValueError(f"{path}: the header must be {','.join(_COLUMNS)}, found {','.join(reader.fieldnames or [])}")
    rows = []
    seen: set[tuple[str, str, str]] = set()
    for (number, _), record in zip(lines[1:], reader):
        try:
            row = PublishedRow(
                record["protocol"], record["dataset"], record["method"],
                float(record["base"]), float(record["new"]), float(record["hm"]), record["source"],
            )
        except (TypeError, ValueError) as err:
            raise ValueError(f"{path}:{number}: Base, New and HM must be numbers ({err})") from err
        key = (row.protocol, row.dataset, row.method)
        if not row.source.strip():
            raise ValueError(f"{path}:{number}: every published row names its source")
        if key in seen:
            raise ValueError(f"{path}:{number}: a second row for {'/'.join(key)}")
        seen.add(key)
        rows.append(row)
    return rows


def compare(entries: Iterable[Entry], published: Sequence[PublishedRow]) -> list[Comparison]:
    """Our base-to-new cells that have a published counterpart (16-shot runs only), in report order."""
    lookup = {(row.dataset, row.method): row for row in published if row.protocol == "base2new"}
    comparisons = []
    for entry in entries:
        row = lookup.get((entry.dataset, entry.method))
        if (
            entry.protocol != "base2new" or row is None or entry.shots != PUBLISHED_SHOTS
            or entry.metric not in METRICS or entry.value is None
        ):
            continue
        std = entry.std if entry.std is not None else sample_std(list(entry.per_seed.values()))
        comparisons.append(Comparison(
            entry.dataset, entry.method, entry.cfg, entry.shots, entry.metric, entry.value, std,
            getattr(row, entry.metric), row.source,
        ))
    return comparisons
