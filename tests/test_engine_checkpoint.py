"""Tests for mopd.engine.checkpoint and CheckpointMixin: atomic, weights_only-safe, Dassl layout."""
import logging
import os
from collections import OrderedDict

import pytest
import torch
from torch import nn

from mopd.engine import checkpoint as ckpt
from mopd.engine.checkpoint import load_checkpoint, load_pretrained_weights, save_checkpoint
from mopd.engine.checkpoint_mixin import CheckpointMixin
from mopd.engine.defaults import get_cfg_default
from mopd.engine.lr_scheduler import build_lr_scheduler


def _state(epoch=3, value=1.0):
    return {"state_dict": {"w": torch.full((2,), value)}, "epoch": epoch, "optimizer": None,
            "scheduler": None, "val_result": None}


def test_save_checkpoint_leaves_only_the_checkpoint_and_pointer_file(tmp_path):
    path = save_checkpoint(_state(epoch=3), str(tmp_path / "model"))
    assert path == str(tmp_path / "model" / "model.pth.tar-3")
    assert sorted(os.listdir(tmp_path / "model")) == ["checkpoint", "model.pth.tar-3"]
    assert (tmp_path / "model" / "checkpoint").read_text() == "model.pth.tar-3\n"
    loaded = torch.load(path, weights_only=True)
    assert loaded["epoch"] == 3 and torch.equal(loaded["state_dict"]["w"], torch.ones(2))


def test_failed_save_keeps_previous_file_intact_and_leaves_no_temp_file(tmp_path, monkeypatch):
    save_dir = tmp_path / "model"
    save_checkpoint(_state(epoch=3, value=1.0), str(save_dir))

    def crashing_save(obj, f):
        with open(f, "wb") as handle:
            handle.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt.torch, "save", crashing_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(_state(epoch=3, value=2.0), str(save_dir))
    monkeypatch.undo()
    assert sorted(os.listdir(save_dir)) == ["checkpoint", "model.pth.tar-3"]
    assert torch.equal(load_checkpoint(str(save_dir / "model.pth.tar-3"))["state_dict"]["w"], torch.ones(2))


def test_save_checkpoint_strips_data_parallel_prefix_and_copies_best(tmp_path):
    state = _state(epoch=1)
    state["state_dict"] = OrderedDict([("module.w", torch.zeros(1))])
    save_checkpoint(state, str(tmp_path), is_best=True)
    best = load_checkpoint(str(tmp_path / "model-best.pth.tar"))
    assert list(best["state_dict"]) == ["w"]


def test_load_checkpoint_reports_corrupt_and_missing_files(tmp_path):
    good = tmp_path / "good.pth"
    torch.save({"w": torch.ones(50)}, good)
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(good.read_bytes()[:100])
    with pytest.raises(ValueError, match="corrupt"):
        load_checkpoint(str(truncated))
    with pytest.raises(FileNotFoundError, match="nothing-here.pth"):
        load_checkpoint(str(tmp_path / "nothing-here.pth"))


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.7, 0.9, 0.99])
def test_checkpoint_cut_at_any_fraction_is_named_as_corrupt_or_truncated(fraction, tmp_path):
    save_dir = tmp_path / "prompt_learner"
    path = save_checkpoint({**_state(epoch=1), "state_dict": {"ctx": torch.randn(16, 64)}}, str(save_dir))
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[: int(len(data) * fraction)])
    cut = open(path, "rb").read()
    with pytest.raises(ValueError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert message.startswith(f'cannot load checkpoint "{path}": it is corrupt or truncated'), message
    assert "\n" not in message and "Errno" not in message.split("(")[0]
    assert open(path, "rb").read() == cut  # the file is left as it was


def test_load_pretrained_weights_loads_matching_keys_and_logs_the_rest(tmp_path, caplog):
    source = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    state = OrderedDict(("module." + k, v) for k, v in source.state_dict().items())
    state["module.extra"] = torch.zeros(1)
    state["module.1.weight"] = torch.zeros(5, 5)  # wrong shape: discarded
    torch.save({"state_dict": state}, tmp_path / "w.pth")

    target = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    kept_weight = target[1].weight.detach().clone()
    with caplog.at_level(logging.INFO, logger="mopd.engine.checkpoint"):
        load_pretrained_weights(target, str(tmp_path / "w.pth"))
    assert torch.equal(target[0].weight, source[0].weight)
    assert torch.equal(target[1].bias, source[1].bias)
    assert torch.equal(target[1].weight, kept_weight)
    assert "'extra'" in caplog.text and "'1.weight'" in caplog.text


def test_load_pretrained_weights_that_match_nothing_raise(tmp_path):
    torch.save({"other": torch.zeros(1)}, tmp_path / "w.pth")
    with pytest.raises(ValueError, match="matches the model"):
        load_pretrained_weights(nn.Linear(2, 2), str(tmp_path / "w.pth"))


class _Holder(CheckpointMixin):
    """Minimal trainer-like object with one registered model, optimizer and scheduler."""

    def __init__(self, seed):
        torch.manual_seed(seed)
        optim_cfg = get_cfg_default().OPTIM
        optim_cfg.LR_SCHEDULER, optim_cfg.MAX_EPOCH, optim_cfg.WARMUP_EPOCH = "cosine", 4, 1
        self.model = nn.Linear(3, 2)
        self.optim = torch.optim.SGD(self.model.parameters(), lr=0.1, momentum=0.9)
        self.sched = build_lr_scheduler(self.optim, optim_cfg)
        self._models = {"model": self.model}
        self._optims = {"model": self.optim}
        self._scheds = {"model": self.sched}

    def get_model_names(self, names=None):
        return list(self._models)


def test_resume_model_if_exist_restores_state_and_returns_saved_epoch(tmp_path):
    first = _Holder(seed=0)
    first.model(torch.ones(1, 3)).sum().backward()
    first.optim.step()
    first.sched.step()
    first.save_model(epoch=1, directory=str(tmp_path))
    assert (tmp_path / "model" / "model.pth.tar-2").is_file()

    second = _Holder(seed=1)
    assert second.resume_model_if_exist(str(tmp_path)) == 2
    assert torch.equal(second.model.weight, first.model.weight)
    assert second.optim.state_dict()["state"][0]["momentum_buffer"].equal(
        first.optim.state_dict()["state"][0]["momentum_buffer"]
    )
    assert second.sched.state_dict() == first.sched.state_dict()
    assert _Holder(seed=2).resume_model_if_exist(str(tmp_path / "empty")) == 0


class _StatefulHolder(_Holder):
    """A trainer with state besides its models (as MoPD's gate selection counts)."""

    def __init__(self, seed):
        super().__init__(seed)
        self.counts = torch.zeros(3, dtype=torch.long)
        self.restored = None

    def training_state(self):
        return {"counts": self.counts.clone()}

    def restore_training_state(self, state):
        self.restored = state


def test_training_state_is_saved_with_the_models_and_handed_back_on_resume(tmp_path):
    first = _StatefulHolder(seed=0)
    first.counts += torch.tensor([4, 0, 7])
    first.save_model(epoch=0, directory=str(tmp_path))
    first.counts += 1
    first.save_model(epoch=1, directory=str(tmp_path))

    second = _StatefulHolder(seed=1)
    assert second.resume_model_if_exist(str(tmp_path)) == 2
    assert torch.equal(second.restored["counts"], torch.tensor([5, 1, 8]))

    _Holder(seed=0).save_model(epoch=2, directory=str(tmp_path))  # a trainer without extra state
    third = _StatefulHolder(seed=1)
    assert third.resume_model_if_exist(str(tmp_path)) == 3
    assert third.restored == {}


def test_load_model_reads_best_or_epoch_and_names_available_epochs(tmp_path):
    saved = _Holder(seed=0)
    saved.save_model(epoch=0, directory=str(tmp_path))
    saved.save_model(epoch=2, directory=str(tmp_path), val_result=71.5, model_name="model-best.pth.tar")

    loaded = _Holder(seed=1)
    loaded.load_model(str(tmp_path), epoch=1)
    assert torch.equal(loaded.model.weight, saved.model.weight)
    best = _Holder(seed=1)
    best.load_model(str(tmp_path))  # epoch None: model-best.pth.tar
    assert torch.equal(best.model.weight, saved.model.weight)
    with pytest.raises(FileNotFoundError) as info:
        loaded.load_model(str(tmp_path), epoch=7)
    assert "model.pth.tar-7" in str(info.value) and "['1', 'best']" in str(info.value)


def test_load_model_from_another_architecture_raises_value_error(tmp_path):
    saved = _Holder(seed=0)
    saved.save_model(epoch=0, directory=str(tmp_path))
    other = _Holder(seed=0)
    other._models["model"] = nn.Linear(5, 2)
    with pytest.raises(ValueError, match="does not fit"):
        other.load_model(str(tmp_path), epoch=1)


def test_pointer_to_a_deleted_checkpoint_names_the_pointer_and_how_to_proceed(tmp_path):
    saved = _Holder(seed=0)
    saved.save_model(epoch=0, directory=str(tmp_path))
    saved.save_model(epoch=1, directory=str(tmp_path))
    model_dir = tmp_path / "model"
    os.remove(model_dir / "model.pth.tar-2")

    with pytest.raises(FileNotFoundError) as info:
        _Holder(seed=1).resume_model_if_exist(str(tmp_path))
    message = str(info.value)
    pointer = str(model_dir / "checkpoint")
    assert f"the pointer file {pointer} names model.pth.tar-2, which does not exist" in message
    assert f"write one of ['model.pth.tar-1'] into {pointer}" in message
    assert f"to train from scratch, delete {pointer}" in message
    assert "--model-dir" not in message and "--resume" not in message
    assert (model_dir / "checkpoint").read_text() == "model.pth.tar-2\n"

    (model_dir / "checkpoint").write_text("model.pth.tar-1\n")  # the first way forward works
    resumed = _Holder(seed=1)
    assert resumed.resume_model_if_exist(str(tmp_path)) == 1


def test_resume_from_another_shape_is_a_value_error_naming_the_file(tmp_path):
    _Holder(seed=0).save_model(epoch=0, directory=str(tmp_path))
    other = _Holder(seed=0)
    other._models["model"] = other.model = nn.Linear(3, 5)
    with pytest.raises(ValueError) as info:
        other.resume_model_if_exist(str(tmp_path))
    assert str(tmp_path / "model" / "model.pth.tar-1") in str(info.value)
    assert "size mismatch for weight" in str(info.value) and "another output directory" in str(info.value)


def test_resume_from_a_dassl_checkpoint_with_pickled_scheduler_is_refused(tmp_path):
    from dassl_like import save_dassl_checkpoint

    holder = _Holder(seed=0)
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    save_dassl_checkpoint(str(model_dir / "model.pth.tar-1"), holder.model.state_dict(), epoch=1)
    (model_dir / "checkpoint").write_text("model.pth.tar-1\n")
    before = holder.model.weight.detach().clone()
    with pytest.raises(ValueError, match="torch.optim.lr_scheduler.CosineAnnealingLR") as info:
        _Holder(seed=1).resume_model_if_exist(str(tmp_path))
    assert "--eval-only" in str(info.value)
    assert torch.equal(holder.model.weight, before)


def test_real_dassl_reads_and_resumes_checkpoints_that_carry_meta(tmp_path):
    torchtools = pytest.importorskip("dassl.utils.torchtools", reason="real Dassl is not importable")

    class Described(_Holder):
        def checkpoint_meta(self):
            return {"trainer": "Described", "backbone": "tiny", "num_classes": 2,
                    "model_settings": {"n_ctx": 4}, "training_settings": {}}

    saved = Described(seed=0)
    saved.save_model(epoch=2, directory=str(tmp_path))
    fpath = str(tmp_path / "model" / "model.pth.tar-3")
    assert torchtools.load_checkpoint(fpath)["meta"]["trainer"] == "Described"
    resumed = _Holder(seed=1)
    assert torchtools.resume_from_checkpoint(str(tmp_path / "model"), resumed.model, resumed.optim, resumed.sched) == 3
    assert torch.equal(resumed.model.weight, saved.model.weight)
