import json
import os

import pytest

from mopd.files import io as data_io


def test_write_json_atomic_round_trips_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "sub" / "split.json"
    obj = {"train": [["a/b.png", 0, "golden retriever"]], "val": [], "test": None}
    data_io.write_json_atomic(str(path), obj)
    assert json.loads(path.read_text()) == obj
    assert data_io.read_json(str(path)) == obj
    assert os.listdir(path.parent) == ["split.json"]


def test_write_bytes_atomic_keeps_the_old_file_when_the_rename_fails(tmp_path, monkeypatch):
    path = tmp_path / "cache.json"
    path.write_bytes(b"old")

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        data_io.write_bytes_atomic(str(path), b"new")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["cache.json"]


def test_read_json_of_a_corrupt_file_raises_value_error_naming_it(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"train": [')
    with pytest.raises(ValueError, match="broken.json is not valid JSON"):
        data_io.read_json(str(path))


def test_read_json_of_binary_garbage_raises_value_error_naming_it(tmp_path):
    path = tmp_path / "garbage.json"
    path.write_bytes(b"\x96\x00\xfe")
    with pytest.raises(ValueError, match=r"garbage.json is not UTF-8 text \(.*0x96.*; the file is damaged: delete it"):
        data_io.read_json(str(path))
