"""`from_json`: dataclasses from JSON, every key and type checked, every wrong one named."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

from mopd.files.typed_json import from_json


@dataclass(frozen=True)
class Inner:
    path: str
    trains: bool


@dataclass(frozen=True)
class Outer:
    state: Literal["done", "failed"]
    count: int
    seconds: float
    steps: tuple[tuple[str, bool], ...]
    inner: tuple[Inner, ...]
    finished: float | None = None


GOOD = {"state": "done", "count": 2, "seconds": 3, "steps": [["a", True]], "inner": [{"path": "p", "trains": False}]}


def test_from_json_builds_nested_dataclasses_with_tuples_and_defaults():
    assert from_json(Outer, GOOD) == Outer("done", 2, 3.0, (("a", True),), (Inner("p", False),), None)


@pytest.mark.parametrize("change, message", [
    ({"state": "finished"}, "state should be one of 'done', 'failed', got 'finished'"),
    ({"count": True}, "count should be int, got True"),  # a bool is not a count
    ({"count": "2", "seconds": None}, "count should be int, got '2'; seconds should be float, got None"),
    ({"finished": "now"}, "finished should be float or null, got 'now'"),
    ({"steps": [["a", True, 1]]}, r"steps\[0\] should hold 2 items, got 3"),
    ({"inner": [{"path": "p"}]}, r"inner\[0\] lacks the keys trains"),
    ({"extra": 1}, "has unknown keys extra"),
])
def test_from_json_names_every_key_or_value_that_does_not_fit(change, message):
    with pytest.raises(ValueError, match=message):
        from_json(Outer, {**GOOD, **change})


def test_from_json_names_missing_keys_of_a_record_that_is_not_an_object():
    with pytest.raises(ValueError, match="lacks the keys count, inner, seconds, state, steps"):
        from_json(Outer, {})
    with pytest.raises(ValueError, match="should be an object, got"):
        from_json(Outer, [1, 2])
