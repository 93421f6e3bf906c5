"""Tests for mopd.engine.checkpoint_meta through CheckpointMixin: checkpoints say what wrote them, loads check it."""
import logging

import pytest
import torch
from torch import nn

from mopd.engine.checkpoint_meta import CROSS_TRAINER_KEY, check_checkpoint_meta
from mopd.engine.checkpoint_mixin import CheckpointMixin


class _Trainer(CheckpointMixin):
    """A trainer-like object whose prompt has the same shape whatever it says it is (as CoOp's and MoPD's)."""

    def __init__(self, seed, trainer="CoOp", backbone="ViT-B/16", num_classes=3, pool_size=None, accepts=()):
        torch.manual_seed(seed)
        self.model = nn.Linear(4, 2)
        self.optim = torch.optim.SGD(self.model.parameters(), lr=0.1, momentum=0.9)
        self._models = {"prompt_learner": self.model}
        self._optims = {"prompt_learner": self.optim}
        self._scheds = {"prompt_learner": None}
        self.meta = {
            "trainer": trainer, "backbone": backbone, "num_classes": num_classes,
            "model_settings": {"n_ctx": 4, "csc": False},
            "training_settings": {} if pool_size is None else {"pool_size": pool_size, "top_k": 2},
        }
        self.accepts = accepts
        self.converted = []

    def get_model_names(self, names=None):
        return list(self._models)

    def checkpoint_meta(self):
        return self.meta

    def accepted_checkpoint_trainers(self):
        return self.accepts

    def convert_foreign_state_dict(self, name, state_dict):
        self.converted.append(name)
        return state_dict


def test_checkpoints_record_what_wrote_them_readable_with_weights_only(tmp_path):
    _Trainer(seed=0, trainer="MoPD", pool_size=12).save_model(epoch=0, directory=str(tmp_path))
    saved = torch.load(tmp_path / "prompt_learner" / "model.pth.tar-1", weights_only=True)
    assert saved["meta"] == {
        "trainer": "MoPD", "backbone": "ViT-B/16", "num_classes": 3,
        "model_settings": {"n_ctx": 4, "csc": False}, "training_settings": {"pool_size": 12, "top_k": 2},
    }


def test_checkpoint_of_another_trainer_with_the_same_shapes_is_refused_at_evaluation(tmp_path):
    _Trainer(seed=0, trainer="CoOp").save_model(epoch=0, directory=str(tmp_path))
    mopd = _Trainer(seed=1, trainer="MoPD", pool_size=12)
    before = mopd.model.weight.detach().clone()
    with pytest.raises(ValueError) as info:
        mopd.load_model(str(tmp_path), epoch=1)
    message = str(info.value)
    path = tmp_path / "prompt_learner" / "model.pth.tar-1"
    assert message.startswith(f'cannot load checkpoint "{path}": it does not fit model "prompt_learner" of this run')
    assert "trainer: checkpoint 'CoOp', this run 'MoPD'" in message
    assert "It holds trainer CoOp, backbone ViT-B/16, 3 classes, n_ctx=4, csc=False" in message
    assert f"add {CROSS_TRAINER_KEY} CoOp" in message
    assert torch.equal(mopd.model.weight, before)


def test_evaluation_across_trainers_loads_when_asked_for_but_not_across_backbones(tmp_path):
    coop = _Trainer(seed=0, trainer="CoOp")
    coop.save_model(epoch=0, directory=str(tmp_path))
    mopd = _Trainer(seed=1, trainer="MoPD", pool_size=12, accepts=("CoOp",))
    mopd.load_model(str(tmp_path), epoch=1)
    assert torch.equal(mopd.model.weight, coop.model.weight)
    assert mopd.converted == []  # a checkpoint with meta is this repository's layout

    other_backbone = _Trainer(seed=1, trainer="MoPD", backbone="ViT-B/32", pool_size=12, accepts=("CoOp",))
    with pytest.raises(ValueError, match="backbone: checkpoint 'ViT-B/16', this run 'ViT-B/32'"):
        other_backbone.load_model(str(tmp_path), epoch=1)


def test_evaluation_on_other_classes_and_pool_sizes_loads(tmp_path):
    base = _Trainer(seed=0, trainer="MoPD", num_classes=3, pool_size=12)
    base.save_model(epoch=0, directory=str(tmp_path))
    new_classes = _Trainer(seed=1, trainer="MoPD", num_classes=5, pool_size=80)  # base-to-new, cross-dataset
    new_classes.load_model(str(tmp_path), epoch=1)
    assert torch.equal(new_classes.model.weight, base.model.weight)


def test_resume_with_another_pool_size_stops_before_touching_the_model(tmp_path):
    _Trainer(seed=0, trainer="MoPD", pool_size=12).save_model(epoch=0, directory=str(tmp_path))
    resumed = _Trainer(seed=1, trainer="MoPD", pool_size=80)
    before = resumed.model.weight.detach().clone()
    with pytest.raises(ValueError) as info:
        resumed.resume_model_if_exist(str(tmp_path))
    message = str(info.value)
    assert message.startswith('cannot resume from checkpoint "')
    assert "(pool_size: checkpoint 12, this run 80)" in message
    assert "resume with the settings it was written with, or train this setup in another output directory" in message
    assert torch.equal(resumed.model.weight, before) and not resumed.optim.state


def test_checkpoint_without_meta_loads_with_a_warning_and_its_layout_converted(tmp_path, caplog):
    plain = _Trainer(seed=0)
    plain.meta = {}  # a trainer that does not describe itself writes no meta (as older checkpoints)
    plain.save_model(epoch=0, directory=str(tmp_path))
    assert "meta" not in torch.load(tmp_path / "prompt_learner" / "model.pth.tar-1", weights_only=True)

    loaded = _Trainer(seed=1, trainer="MoPD", pool_size=12)
    with caplog.at_level(logging.WARNING, logger="mopd.engine.checkpoint_meta"):
        loaded.load_model(str(tmp_path), epoch=1)
    assert "does not record the trainer, backbone and settings" in caplog.text
    assert loaded.converted == ["prompt_learner"]
    assert torch.equal(loaded.model.weight, plain.model.weight)


def test_check_compares_only_settings_both_trainers_have_when_crossing():
    saved = {"trainer": "CoOp", "backbone": "b", "num_classes": 3, "model_settings": {"n_ctx": 4},
             "training_settings": {}}
    current = {"trainer": "MoPD", "backbone": "b", "num_classes": 3, "model_settings": {"n_ctx": 4, "gate_rank": 2},
               "training_settings": {"pool_size": 12}}
    assert check_checkpoint_meta("f", "m", saved, current, "evaluate", accepted_trainers=("CoOp",)) is True
    with pytest.raises(ValueError, match="n_ctx: checkpoint 16, this run 4"):
        check_checkpoint_meta("f", "m", {**saved, "model_settings": {"n_ctx": 16}}, current, "evaluate", ("CoOp",))
    with pytest.raises(ValueError, match="trainer: checkpoint 'CoOp', this run 'MoPD'"):
        check_checkpoint_meta("f", "m", saved, current, "resume", accepted_trainers=("CoOp",))  # resuming never crosses
    assert check_checkpoint_meta("f", "m", None, current, "evaluate") is False
    assert check_checkpoint_meta("f", "m", saved, {}, "evaluate") is True  # a trainer without meta checks nothing
