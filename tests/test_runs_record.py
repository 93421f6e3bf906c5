"""Tests for mopd.runs.record and mopd.runs.folder: what a run folder records and when it is refused."""
import json
import os

import pytest

from mopd.config.defaults import get_cfg
from mopd.runs.folder import check_run_folder
from mopd.runs.record import (
    HARMLESS_KEYS,
    RUN_RECORD,
    SettingsChangedError,
    compare_with_record,
    flatten_cfg,
    read_run_record,
    settings_fingerprint,
    write_run_record,
)
from mopd.runs.finished import read_finished_marker, write_finished_marker


def _cfg(output_dir: str = "out", **values):
    """The repository's default config of a MoPD run with `values` set (keys as A__B__C) and OUTPUT_DIR."""
    cfg = get_cfg()
    cfg.OUTPUT_DIR = output_dir
    cfg.TRAINER.NAME = "MoPD"
    for name, value in values.items():
        node = cfg
        *parents, leaf = name.split("__")
        for parent in parents:
            node = node[parent]
        node[leaf] = value
    return cfg


def _with_checkpoint(directory) -> str:
    """A run folder holding one checkpoint pointer file, as a run killed after its first epoch leaves it."""
    (directory / "prompt_learner").mkdir(parents=True)
    (directory / "prompt_learner" / "checkpoint").write_text("model.pth.tar-1\n")
    return str(directory)


def test_every_harmless_key_is_a_config_key():
    assert HARMLESS_KEYS <= set(flatten_cfg(get_cfg()))


def test_flatten_cfg_names_nested_keys_and_stores_tuples_as_lists():
    flat = flatten_cfg(get_cfg())
    assert flat["INPUT.SIZE"] == [224, 224]
    assert flat["TRAINER.MOPD.TOP_K"] == 2
    assert flat["DATALOADER.TRAIN_X.BATCH_SIZE"] == 32


@pytest.mark.parametrize("key", sorted(HARMLESS_KEYS))
def test_harmless_keys_do_not_change_the_fingerprint(key):
    cfg = _cfg()
    other = cfg.clone()
    node = other
    *parents, leaf = key.split(".")
    for parent in parents:
        node = node[parent]
    value = node[leaf]
    node[leaf] = (not value) if isinstance(value, bool) else (value + 1 if isinstance(value, int) else "elsewhere")
    assert flatten_cfg(other)[key] != flatten_cfg(cfg)[key]
    assert settings_fingerprint(other) == settings_fingerprint(cfg)


@pytest.mark.parametrize("key,value", [("OPTIM__LR", 0.01), ("TRAINER__MOPD__TOP_K", 3), ("DATASET__NUM_SHOTS", 4),
                                       ("MODEL__BACKBONE__PATH", "/weights/other.pt")])
def test_defining_keys_change_the_fingerprint(key, value):
    assert settings_fingerprint(_cfg(**{key: value})) != settings_fingerprint(_cfg())


@pytest.mark.parametrize("trainer,key,value", [("MoPD", "TRAINER__KGCOOP__W", 2.0), ("CoOp", "TRAINER__MOPD__TOP_K", 3),
                                               ("KgCoOp", "TRAINER__PROGRAD__LAMBDA", 0.5), ("MoPD", "TRAINER__MCD__N_STEP_F", 7)])
def test_a_node_the_trainer_does_not_read_is_not_fingerprinted(trainer, key, value):
    assert settings_fingerprint(_cfg(TRAINER__NAME=trainer, **{key: value})) == settings_fingerprint(
        _cfg(TRAINER__NAME=trainer))


@pytest.mark.parametrize("trainer,key,value", [("KgCoOp", "TRAINER__KGCOOP__W", 2.0), ("MoPD", "TRAINER__MOPD__TOP_K", 3),
                                               ("MoPD", "TRAINER__COOP__N_CTX", 8)])
def test_the_trainers_own_node_and_the_shared_one_are_fingerprinted(trainer, key, value):
    assert settings_fingerprint(_cfg(TRAINER__NAME=trainer, **{key: value})) != settings_fingerprint(
        _cfg(TRAINER__NAME=trainer))


def test_compare_names_changed_keys_with_old_and_new_values_and_keys_of_one_side_apart(tmp_path):
    write_run_record(str(tmp_path), _cfg(OPTIM__LR=0.002))
    record = read_run_record(str(tmp_path))
    record["settings"]["TRAINER.OLD_KEY"] = 1  # a key an older code version had
    changed, one_sided = compare_with_record(record, _cfg(OPTIM__LR=0.01, TRAIN__PRINT_FREQ=1))
    assert changed == {"OPTIM.LR": (0.002, 0.01)}
    assert one_sided == ["TRAINER.OLD_KEY"]


def test_record_holds_every_setting_its_fingerprint_and_each_allowed_change(tmp_path):
    cfg = _cfg(OPTIM__MAX_EPOCH=2)
    write_run_record(str(tmp_path), cfg)
    record = json.loads((tmp_path / RUN_RECORD).read_text())
    assert record["fingerprint"] == settings_fingerprint(cfg)
    assert record["settings"] == flatten_cfg(cfg)
    assert record["settings_changed"] == []
    write_run_record(str(tmp_path), _cfg(OPTIM__MAX_EPOCH=3))
    write_run_record(str(tmp_path), _cfg(OPTIM__MAX_EPOCH=3))
    record = read_run_record(str(tmp_path))
    assert record["settings_changed"] == [{"OPTIM.MAX_EPOCH": [2, 3]}]
    assert record["settings"]["OPTIM.MAX_EPOCH"] == 3


def test_finished_marker_repeats_the_fingerprint_of_the_record(tmp_path):
    cfg = _cfg()
    write_run_record(str(tmp_path), cfg)
    write_finished_marker(str(tmp_path), epoch=10, result=50.0)
    assert read_finished_marker(str(tmp_path)) == {"epochs": 10, "final_test": 50.0,
                                                   "fingerprint": settings_fingerprint(cfg)}


def test_empty_folder_is_new(tmp_path):
    folder = check_run_folder(str(tmp_path / "run"), _cfg())
    assert (folder.state, folder.changed, folder.notes) == ("new", {}, ())


def test_checkpoint_of_other_settings_is_refused_naming_each_key_and_the_way_forward(tmp_path):
    out = _with_checkpoint(tmp_path / "run")
    write_run_record(out, _cfg(out))
    with pytest.raises(SettingsChangedError) as err:
        check_run_folder(out, _cfg(out, OPTIM__LR=0.01, TRAINER__MOPD__TOP_K=3, TRAIN__PRINT_FREQ=1))
    message = str(err.value)
    assert f"the run in {out} was trained with other settings" in message
    assert "OPTIM.LR 0.0003 -> 0.01; TRAINER.MOPD.TOP_K 2 -> 3." in message
    assert "PRINT_FREQ" not in message
    assert "another --output-dir" in message and "--allow-settings-change" in message


def test_allowed_change_resumes_and_reports_the_changes(tmp_path):
    out = _with_checkpoint(tmp_path / "run")
    write_run_record(out, _cfg(out))
    folder = check_run_folder(out, _cfg(out, OPTIM__LR=0.01), allow_settings_change=True)
    assert folder.state == "resume"
    assert folder.changed == {"OPTIM.LR": (0.0003, 0.01)}


def test_same_defining_settings_in_another_folder_resume(tmp_path):
    out = _with_checkpoint(tmp_path / "run")
    write_run_record(out, _cfg("/elsewhere/run", DATASET__ROOT="/data", DATALOADER__NUM_WORKERS=8))
    folder = check_run_folder(out, _cfg(out, DATASET__ROOT="/mnt/data", DATALOADER__NUM_WORKERS=0))
    assert (folder.state, folder.changed, folder.notes) == ("resume", {}, ())


def test_finished_run_of_the_same_settings_is_finished_and_of_other_settings_refused(tmp_path):
    out = str(tmp_path)
    write_run_record(out, _cfg(out, OPTIM__MAX_EPOCH=5))
    write_finished_marker(out, epoch=5, result=80.0)
    assert check_run_folder(out, _cfg(out, OPTIM__MAX_EPOCH=5)).state == "finished"
    with pytest.raises(SettingsChangedError, match="the finished run in .* DATASET.NUM_SHOTS -1 -> 4"):
        check_run_folder(out, _cfg(out, OPTIM__MAX_EPOCH=5, DATASET__NUM_SHOTS=4))


def test_folder_written_before_run_records_resumes_with_one_note(tmp_path):
    out = _with_checkpoint(tmp_path / "run")
    folder = check_run_folder(out, _cfg(out, OPTIM__LR=0.01))
    assert folder.state == "resume"
    assert len(folder.notes) == 1 and "before runs recorded their settings" in folder.notes[0]


def test_record_of_a_run_that_saved_nothing_does_not_hold_the_folder(tmp_path):
    out = str(tmp_path)
    write_run_record(out, _cfg(out))
    (tmp_path / "log.txt").write_text("crashed while building the model\n")
    assert check_run_folder(out, _cfg(out, OPTIM__LR=0.01)).state == "new"


def test_resume_folder_of_other_settings_is_refused(tmp_path):
    source = _with_checkpoint(tmp_path / "source")
    write_run_record(source, _cfg(source))
    out = str(tmp_path / "out")
    with pytest.raises(SettingsChangedError, match=f"the run in {source} .* OPTIM.LR"):
        check_run_folder(out, _cfg(out, RESUME=source, OPTIM__LR=0.01))
    assert check_run_folder(out, _cfg(out, RESUME=source)).state == "resume"
    assert not os.path.exists(out)
