"""End-to-end tests of mopd.engine's TrainerX loop: Dassl's printed line, checkpoints, resume, final test."""
import logging
import math
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from mopd.engine import (
    DATASET_REGISTRY,
    TRAINER_REGISTRY,
    DatasetBase,
    Datum,
    TrainerX,
    build_optimizer,
    build_trainer,
    compute_accuracy,
    get_cfg_default,
)
from mopd.engine.lr_scheduler import build_lr_scheduler

LINE = re.compile(
    r"^epoch \[(\d+)/(\d+)\] batch \[(\d+)/(\d+)\] "
    r"time \d+\.\d{3} \(\d+\.\d{3}\) data \d+\.\d{3} \(\d+\.\d{3}\) "
    r"loss \d+\.\d{4} \(\d+\.\d{4}\) acc \d+\.\d{4} \(\d+\.\d{4}\) "
    r"lr (\d\.\d{4}e[-+]\d{2}) eta \d+:\d{2}:\d{2}$"
)
COLORS = [(255, 0, 0), (0, 255, 0)]


@DATASET_REGISTRY.register()
class EngineTrainerFakeImages(DatasetBase):
    """Two solid-colour classes under DATASET.ROOT/{train,val,test}."""

    def __init__(self, cfg):
        root = Path(cfg.DATASET.ROOT)

        def read(split):
            paths = sorted((root / split).glob("*.png"))
            return [Datum(str(p), int(p.name[0]), 0, f"color{p.name[0]}") for p in paths] or None

        super().__init__(train_x=read("train"), val=read("val"), test=read("test"))


@TRAINER_REGISTRY.register()
class EngineTestLinear(TrainerX):
    """A linear classifier on raw pixels, written against Dassl's TrainerX API."""

    def build_model(self):
        h, w = self.cfg.INPUT.SIZE
        self.model = nn.Sequential(nn.Flatten(), nn.Linear(3 * h * w, self.num_classes)).to(self.device)
        self.optim = build_optimizer(self.model, self.cfg.OPTIM)
        self.sched = build_lr_scheduler(self.optim, self.cfg.OPTIM)
        self.register_model("model", self.model, self.optim, self.sched)
        self.scalars = []

    def forward_backward(self, batch):
        image, label, _ = self.parse_batch_train(batch)
        output = self.model(image)
        loss = F.cross_entropy(output, label)
        self.model_backward_and_update(loss)
        if (self.batch_idx + 1) == self.num_batches:
            self.update_lr()
        return {"loss": loss.item(), "acc": compute_accuracy(output, label)[0].item()}

    def write_scalar(self, tag, scalar_value, global_step=None):
        self.scalars.append((tag, global_step))
        super().write_scalar(tag, scalar_value, global_step)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    for split, n in (("train", 3), ("val", 1), ("test", 2)):
        (root / split).mkdir()
        for label, color in enumerate(COLORS):
            for i in range(n):
                Image.new("RGB", (6, 6), color).save(root / split / f"{label}_{i}.png")
    return root


def _cfg(data_root, output_dir, **overrides):
    cfg = get_cfg_default()
    cfg.DATASET.NAME = "EngineTrainerFakeImages"
    cfg.DATASET.ROOT = str(data_root)
    cfg.TRAINER.NAME = "EngineTestLinear"
    cfg.OUTPUT_DIR = str(output_dir)
    cfg.USE_CUDA = False
    cfg.INPUT.SIZE = (4, 4)
    cfg.INPUT.TRANSFORMS = ("normalize",)
    cfg.DATALOADER.NUM_WORKERS = 0
    cfg.DATALOADER.TRAIN_X.BATCH_SIZE = 2  # 6 train images: 3 batches
    cfg.DATALOADER.TEST.BATCH_SIZE = 4
    cfg.OPTIM.NAME = "sgd"
    cfg.OPTIM.LR = 0.01
    cfg.OPTIM.LR_SCHEDULER = "cosine"
    cfg.OPTIM.MAX_EPOCH = 2
    cfg.TRAIN.PRINT_FREQ = 1
    for key, value in overrides.items():
        node = cfg
        *parents, leaf = key.split(".")
        for parent in parents:
            node = getattr(node, parent)
        setattr(node, leaf, value)
    return cfg


def _progress_lines(out):
    return [LINE.match(line) for line in out.splitlines() if line.startswith("epoch [")]


def test_training_prints_dassl_lines_checkpoints_and_tests(data_root, tmp_path, capsys, caplog):
    trainer = build_trainer(_cfg(data_root, tmp_path))
    with caplog.at_level(logging.INFO):
        trainer.train()
    out = capsys.readouterr().out

    lines = _progress_lines(out)
    assert lines and all(lines), out
    assert [(m[1], m[2], m[3], m[4]) for m in lines] == [
        (str(e), "2", str(b), "3") for e in (1, 2) for b in (1, 2, 3)
    ]
    # Cosine over 2 epochs: lr 0.01, then 0.01 * (1 + cos(pi / 2)) / 2, then 0. As in Dassl, the line of an
    # epoch's last batch is printed after forward_backward's update_lr, so it shows the next epoch's lr.
    lr2 = f"{0.01 * (1 + math.cos(math.pi / 2)) / 2:.4e}"
    assert [m[5] for m in lines] == ["1.0000e-02", "1.0000e-02", lr2, lr2, lr2, "0.0000e+00"]
    assert re.search(r"=> result\n\* total: 4\n\* correct: \d\n\* accuracy: \d+\.\d%\n", out)
    assert "Deploy the last-epoch model" in caplog.text
    assert re.search(r"Elapsed: \d+:\d{2}:\d{2}", caplog.text)

    model_dir = tmp_path / "model"
    assert sorted(p.name for p in model_dir.iterdir()) == ["checkpoint", "model.pth.tar-2"]
    saved = torch.load(model_dir / "model.pth.tar-2", weights_only=True)
    # Dassl's keys, plus the trainer's own state for resuming (none for this trainer)
    assert set(saved) == {"state_dict", "epoch", "optimizer", "scheduler", "val_result", "training_state"}
    assert saved["training_state"] == {}
    assert saved["epoch"] == 2
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    iterations = [step for tag, step in trainer.scalars if tag == "train/lr"]
    assert iterations == list(range(6))
    assert [step for tag, step in trainer.scalars if tag == "train/loss"] == iterations
    assert ("test/accuracy", 1) in trainer.scalars  # step = last epoch index, as in Dassl


def test_training_resumes_from_the_last_checkpoint(data_root, tmp_path, capsys):
    build_trainer(_cfg(data_root, tmp_path, **{"TEST.NO_TEST": True})).train()
    first_weights = torch.load(tmp_path / "model" / "model.pth.tar-2", weights_only=True)["state_dict"]
    capsys.readouterr()

    trainer = build_trainer(_cfg(data_root, tmp_path, **{"OPTIM.MAX_EPOCH": 3, "TEST.NO_TEST": True}))
    trainer.before_train()
    assert trainer.start_epoch == 2
    assert torch.equal(trainer.model[1].weight, first_weights["1.weight"])
    trainer.close_writer()

    build_trainer(_cfg(data_root, tmp_path, **{"OPTIM.MAX_EPOCH": 3, "TEST.NO_TEST": True})).train()
    out = capsys.readouterr().out
    assert [m[1] for m in _progress_lines(out)] == ["3", "3", "3"]
    assert "=> result" not in out
    assert torch.load(tmp_path / "model" / "model.pth.tar-3", weights_only=True)["epoch"] == 3


def test_print_freq_skips_batches_unless_the_epoch_is_shorter(data_root, tmp_path, capsys):
    cfg = _cfg(data_root, tmp_path, **{"TRAIN.PRINT_FREQ": 2, "OPTIM.MAX_EPOCH": 1, "TEST.NO_TEST": True})
    build_trainer(cfg).train()
    assert [m[3] for m in _progress_lines(capsys.readouterr().out)] == ["2"]

    cfg = _cfg(data_root, tmp_path / "b", **{"TRAIN.PRINT_FREQ": 5, "OPTIM.MAX_EPOCH": 1, "TEST.NO_TEST": True})
    build_trainer(cfg).train()  # 3 batches < PRINT_FREQ: every batch is printed
    assert [m[3] for m in _progress_lines(capsys.readouterr().out)] == ["1", "2", "3"]


def test_best_val_saves_best_model_and_deploys_it(data_root, tmp_path, capsys, caplog):
    cfg = _cfg(data_root, tmp_path, **{"TEST.FINAL_MODEL": "best_val", "TRAIN.CHECKPOINT_FREQ": 1})
    with caplog.at_level(logging.INFO):
        build_trainer(cfg).train()
    out = capsys.readouterr().out
    names = sorted(p.name for p in (tmp_path / "model").iterdir())
    assert names == ["checkpoint", "model-best.pth.tar", "model.pth.tar-1", "model.pth.tar-2"]
    assert "Evaluate on the *val* set" in caplog.text
    assert "Deploy the model with the best val performance" in caplog.text
    assert out.count("=> result") == 3  # val after each of 2 epochs, then the final test
    best = torch.load(tmp_path / "model" / "model-best.pth.tar", weights_only=True)
    assert isinstance(best["val_result"], float)


def test_bad_final_model_and_unknown_trainer_are_rejected(data_root, tmp_path):
    with pytest.raises(ValueError, match="best_val"):
        build_trainer(_cfg(data_root, tmp_path, **{"TEST.FINAL_MODEL": "best"}))
    with pytest.raises(KeyError, match="EngineTestLinear"):
        build_trainer(_cfg(data_root, tmp_path, **{"TRAINER.NAME": "EngineTestLinar"}))


def test_non_finite_loss_raises_floating_point_error(data_root, tmp_path):
    trainer = build_trainer(_cfg(data_root, tmp_path))
    with pytest.raises(FloatingPointError):
        trainer.model_backward(torch.tensor(float("nan"), requires_grad=True))
    with pytest.raises(KeyError, match="model"):
        trainer.set_model_mode("eval", names="nonexistent")
    trainer.set_model_mode("eval")
    assert not trainer.model.training
