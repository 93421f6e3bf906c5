"""Tests for mopd.engine.logger.setup_logger: log.txt gets printed lines and logging records."""
import logging
import sys

import pytest

from mopd.engine.logger import setup_logger


@pytest.fixture
def restore_logging(monkeypatch):
    monkeypatch.setattr(sys, "stdout", sys.stdout)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def test_printed_lines_and_log_records_reach_log_txt_and_console(tmp_path, capsys, restore_logging):
    path = setup_logger(str(tmp_path))
    print("epoch [1/1] batch [1/1]")
    logging.getLogger("mopd.some.module").info("built the model")
    sys.stdout.flush()
    assert path == str(tmp_path / "log.txt")
    assert (tmp_path / "log.txt").read_text() == "epoch [1/1] batch [1/1]\nbuilt the model\n"
    assert "built the model" in capsys.readouterr().out


def test_existing_log_is_kept_and_new_one_gets_timestamp(tmp_path, restore_logging):
    (tmp_path / "log.txt").write_text("old run\n")
    path = setup_logger(str(tmp_path))
    print("new run")
    assert (tmp_path / "log.txt").read_text() == "old run\n"
    assert path.startswith(str(tmp_path / "log.txt-")) and open(path).read() == "new run\n"


def test_second_setup_switches_file_without_duplicating_output(tmp_path, restore_logging):
    setup_logger(str(tmp_path / "a"))
    setup_logger(str(tmp_path / "b"))
    print("only b")
    logging.getLogger("mopd").info("record once")
    assert (tmp_path / "a" / "log.txt").read_text() == ""
    assert (tmp_path / "b" / "log.txt").read_text() == "only b\nrecord once\n"
