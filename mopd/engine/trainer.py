"""Dassl's trainer hierarchy: `TrainerBase` -> `SimpleTrainer` -> `TrainerX`, and `build_trainer`.

Same hooks, attributes and printed training line as Dassl 0.6.3, so trainers written against
Dassl's API run unchanged. A subclass implements `build_model` and `forward_backward`.
"""
from __future__ import annotations

import datetime
import logging
import os
import os.path as osp
import time
from collections import OrderedDict
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm
from yacs.config import CfgNode

from mopd.engine.checkpoint_mixin import CheckpointMixin
from mopd.engine.data_manager import DataManager
from mopd.engine.evaluator import build_evaluator
from mopd.engine.meters import AverageMeter, MetricMeter
from mopd.engine.registry import Registry

logger = logging.getLogger(__name__)

TRAINER_REGISTRY = Registry("TRAINER")

FINAL_MODELS = ("last_step", "best_val")
TEST_SPLITS = ("val", "test")


class TrainerBase(CheckpointMixin):
    """Iterative trainer: registered (model, optimizer, scheduler) triples and the epoch loop."""

    def __init__(self) -> None:
        self._models: OrderedDict[str, nn.Module] = OrderedDict()
        self._optims: OrderedDict[str, torch.optim.Optimizer | None] = OrderedDict()
        self._scheds: OrderedDict[str, Any] = OrderedDict()
        self._writer: Any = None

    def register_model(
        self,
        name: str = "model",
        model: nn.Module | None = None,
        optim: torch.optim.Optimizer | None = None,
        sched: Any = None,
    ) -> None:
        """Register a model with its optimizer and scheduler for saving, mode switches and lr steps."""
        if self.__dict__.get("_models") is None:
            raise AttributeError("Cannot register a model before super().__init__() is called")
        if name in self._models:
            raise KeyError(f'A model named "{name}" is already registered; use a different name')
        self._models[name] = model
        self._optims[name] = optim
        self._scheds[name] = sched

    def get_model_names(self, names: str | list[str] | None = None) -> list[str]:
        """Return `names` as a list after checking they are registered (all names if None)."""
        registered = list(self._models)
        if names is None:
            return registered
        names = [names] if isinstance(names, str) else list(names)
        for name in names:
            if name not in registered:
                raise KeyError(f'No model registered as "{name}"; registered: {", ".join(registered)}')
        return names

    def set_model_mode(self, mode: str = "train", names: str | list[str] | None = None) -> None:
        """Put the models in "train" or "eval"/"test" mode."""
        if mode not in ("train", "eval", "test"):
            raise ValueError(f'mode must be "train", "eval" or "test", got {mode!r}')
        for name in self.get_model_names(names):
            if mode == "train":
                self._models[name].train()
            else:
                self._models[name].eval()

    def update_lr(self, names: str | list[str] | None = None) -> None:
        """Step each model's scheduler once (Dassl trainers do this at the end of an epoch)."""
        for name in self.get_model_names(names):
            if self._scheds[name] is not None:
                self._scheds[name].step()

    def detect_anomaly(self, loss: torch.Tensor) -> None:
        """Raise FloatingPointError if the loss is NaN or infinite."""
        if not torch.isfinite(loss).all():
            raise FloatingPointError("Loss is infinite or NaN!")

    def init_writer(self, log_dir: str) -> None:
        """Create the tensorboard SummaryWriter (once)."""
        if self.__dict__.get("_writer") is None:
            from torch.utils.tensorboard import SummaryWriter  # imported here: tensorboard is slow to import

            logger.info("Initialize tensorboard (log_dir=%s)", log_dir)
            self._writer = SummaryWriter(log_dir=log_dir)

    def close_writer(self) -> None:
        """Flush and close the tensorboard writer."""
        if self._writer is not None:
            self._writer.close()

    def write_scalar(self, tag: str, scalar_value: float, global_step: int | None = None) -> None:
        """Log a scalar to tensorboard; a no-op before `init_writer` (e.g. evaluation only)."""
        if self._writer is not None:
            self._writer.add_scalar(tag, scalar_value, global_step)

    def train(self, start_epoch: int, max_epoch: int) -> None:
        """Run before_train, then before_epoch/run_epoch/after_epoch per epoch, then after_train."""
        self.start_epoch = start_epoch
        self.max_epoch = max_epoch
        self.before_train()
        for self.epoch in range(self.start_epoch, self.max_epoch):
            self.before_epoch()
            self.run_epoch()
            self.after_epoch()
        self.after_train()

    def before_train(self) -> None:
        """Hook run once before the first epoch."""

    def after_train(self) -> None:
        """Hook run once after the last epoch."""

    def before_epoch(self) -> None:
        """Hook run before each epoch."""

    def after_epoch(self) -> None:
        """Hook run after each epoch."""

    def run_epoch(self) -> None:
        """Train for one epoch."""
        raise NotImplementedError

    def test(self) -> Any:
        """Evaluate the model."""
        raise NotImplementedError

    def parse_batch_train(self, batch: Any) -> Any:
        """Turn a training batch into model inputs."""
        raise NotImplementedError

    def parse_batch_test(self, batch: Any) -> Any:
        """Turn a test batch into model inputs."""
        raise NotImplementedError

    def forward_backward(self, batch: Any) -> dict[str, float]:
        """Run one training step and return the loss summary dict."""
        raise NotImplementedError

    def model_inference(self, input: torch.Tensor) -> torch.Tensor:
        """Return the logits for `input`."""
        raise NotImplementedError

    def model_zero_grad(self, names: str | list[str] | None = None) -> None:
        """Zero the gradients of the registered optimizers."""
        for name in self.get_model_names(names):
            if self._optims[name] is not None:
                self._optims[name].zero_grad()

    def model_backward(self, loss: torch.Tensor) -> None:
        """Check the loss is finite and backpropagate it."""
        self.detect_anomaly(loss)
        loss.backward()

    def model_update(self, names: str | list[str] | None = None) -> None:
        """Step the registered optimizers."""
        for name in self.get_model_names(names):
            if self._optims[name] is not None:
                self._optims[name].step()

    def model_backward_and_update(self, loss: torch.Tensor, names: str | list[str] | None = None) -> None:
        """Zero grads, backpropagate `loss` and step the optimizers."""
        self.model_zero_grad(names)
        self.model_backward(loss)
        self.model_update(names)


class SimpleTrainer(TrainerBase):
    """Trainer with data loaders, evaluator, checkpointing per epoch and a final test."""

    def __init__(self, cfg: CfgNode) -> None:
        super().__init__()
        self.check_cfg(cfg)
        self._check_engine_cfg(cfg)
        use_cuda = torch.cuda.is_available() and cfg.USE_CUDA
        self.device = torch.device("cuda" if use_cuda else "cpu")
        self.start_epoch = self.epoch = 0
        self.max_epoch = cfg.OPTIM.MAX_EPOCH
        self.output_dir = cfg.OUTPUT_DIR
        self.cfg = cfg
        self.build_data_loader()
        self.build_model()
        self.evaluator = build_evaluator(cfg, lab2cname=self.lab2cname)
        self.best_result = -np.inf

    @staticmethod
    def _check_engine_cfg(cfg: CfgNode) -> None:
        if cfg.TEST.FINAL_MODEL not in FINAL_MODELS:
            raise ValueError(f"TEST.FINAL_MODEL must be one of {list(FINAL_MODELS)}, got {cfg.TEST.FINAL_MODEL!r}")
        if cfg.TEST.SPLIT not in TEST_SPLITS:
            raise ValueError(f"TEST.SPLIT must be one of {list(TEST_SPLITS)}, got {cfg.TEST.SPLIT!r}")
        if cfg.TRAIN.PRINT_FREQ < 1:
            raise ValueError(f"TRAIN.PRINT_FREQ must be a positive number of batches, got {cfg.TRAIN.PRINT_FREQ}")

    def check_cfg(self, cfg: CfgNode) -> None:
        """Hook: reject settings this trainer cannot use, before anything is built."""

    def build_data_loader(self) -> None:
        """Create the loaders and dataset attributes (train_loader_x, ..., lab2cname, dm)."""
        dm = DataManager(self.cfg)
        self.train_loader_x = dm.train_loader_x
        self.train_loader_u = dm.train_loader_u
        self.val_loader = dm.val_loader
        self.test_loader = dm.test_loader
        self.num_classes = dm.num_classes
        self.num_source_domains = dm.num_source_domains
        self.lab2cname = dm.lab2cname
        self.dm = dm

    def build_model(self) -> None:
        """Build and `register_model` the model(s) with optimizer and scheduler."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement build_model() (the built-in runtime has no "
            "default backbone network)"
        )

    def train(self) -> None:  # type: ignore[override]
        """Train from `start_epoch` (after resuming) to OPTIM.MAX_EPOCH."""
        super().train(self.start_epoch, self.max_epoch)

    def before_train(self) -> None:
        """Resume from RESUME (or OUTPUT_DIR), open tensorboard, start the clock."""
        directory = self.cfg.RESUME or self.cfg.OUTPUT_DIR
        self.start_epoch = self.resume_model_if_exist(directory)
        writer_dir = osp.join(self.output_dir, "tensorboard")
        os.makedirs(writer_dir, exist_ok=True)
        self.init_writer(writer_dir)
        self.time_start = time.time()

    def after_train(self) -> None:
        """Run the final test (unless TEST.NO_TEST), report the elapsed time, close tensorboard."""
        logger.info("Finish training")
        if not self.cfg.TEST.NO_TEST:
            if self.cfg.TEST.FINAL_MODEL == "best_val":
                logger.info("Deploy the model with the best val performance")
                self.load_model(self.output_dir)
            else:
                logger.info("Deploy the last-epoch model")
            self.test()
        elapsed = str(datetime.timedelta(seconds=round(time.time() - self.time_start)))
        logger.info("Elapsed: %s", elapsed)
        self.close_writer()

    def after_epoch(self) -> None:
        """Track the best val model (FINAL_MODEL best_val); checkpoint every CHECKPOINT_FREQ and at the end."""
        last_epoch = (self.epoch + 1) == self.max_epoch
        freq = self.cfg.TRAIN.CHECKPOINT_FREQ
        meet_checkpoint_freq = freq > 0 and (self.epoch + 1) % freq == 0
        if not self.cfg.TEST.NO_TEST and self.cfg.TEST.FINAL_MODEL == "best_val":
            curr_result = self.test(split="val")
            if curr_result > self.best_result:
                self.best_result = curr_result
                self.save_model(self.epoch, self.output_dir, val_result=curr_result, model_name="model-best.pth.tar")
        if meet_checkpoint_freq or last_epoch:
            self.save_model(self.epoch, self.output_dir)

    @torch.no_grad()
    def test(self, split: str | None = None) -> float:
        """Evaluate on `split` (TEST.SPLIT by default; test when there is no val set); return the first metric."""
        self.set_model_mode("eval")
        self.evaluator.reset()
        split = split or self.cfg.TEST.SPLIT
        if split == "val" and self.val_loader is not None:
            data_loader = self.val_loader
        else:
            split = "test"
            data_loader = self.test_loader
        logger.info("Evaluate on the *%s* set", split)
        for batch in tqdm(data_loader, disable=None):
            input, label = self.parse_batch_test(batch)
            self.evaluator.process(self.model_inference(input), label)
        results = self.evaluator.evaluate()
        for name, value in results.items():
            self.write_scalar(f"{split}/{name}", value, self.epoch)
        return list(results.values())[0]

    def model_inference(self, input: torch.Tensor) -> torch.Tensor:
        """Return `self.model(input)`."""
        return self.model(input)

    def parse_batch_test(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (images, labels) of a test batch on the trainer's device."""
        return batch["img"].to(self.device), batch["label"].to(self.device)

    def get_current_lr(self, names: str | list[str] | None = None) -> float:
        """Return the lr of the first param group of the first (or named) model's optimizer."""
        name = self.get_model_names(names)[0]
        return self._optims[name].param_groups[0]["lr"]


class TrainerX(SimpleTrainer):
    """Trainer using labelled data only (train_loader_x)."""

    def run_epoch(self) -> None:
        """One pass over train_loader_x, printing Dassl's progress line every TRAIN.PRINT_FREQ batches."""
        self.set_model_mode("train")
        losses = MetricMeter()
        batch_time = AverageMeter()
        data_time = AverageMeter()
        self.num_batches = len(self.train_loader_x)
        end = time.time()
        for self.batch_idx, batch in enumerate(self.train_loader_x):
            data_time.update(time.time() - end)
            loss_summary = self.forward_backward(batch)
            batch_time.update(time.time() - end)
            losses.update(loss_summary)

            meet_freq = (self.batch_idx + 1) % self.cfg.TRAIN.PRINT_FREQ == 0
            only_few_batches = self.num_batches < self.cfg.TRAIN.PRINT_FREQ
            if meet_freq or only_few_batches:
                self._print_progress(losses, batch_time, data_time)

            n_iter = self.epoch * self.num_batches + self.batch_idx
            for name, meter in losses.meters.items():
                self.write_scalar("train/" + name, meter.avg, n_iter)
            self.write_scalar("train/lr", self.get_current_lr(), n_iter)
            end = time.time()

    def _print_progress(self, losses: MetricMeter, batch_time: AverageMeter, data_time: AverageMeter) -> None:
        # Printed, not logged: tools parse this exact line from log.txt.
        nb_remain = self.num_batches - self.batch_idx - 1 + (self.max_epoch - self.epoch - 1) * self.num_batches
        eta = str(datetime.timedelta(seconds=int(batch_time.avg * nb_remain)))
        print(
            f"epoch [{self.epoch + 1}/{self.max_epoch}] "
            f"batch [{self.batch_idx + 1}/{self.num_batches}] "
            f"time {batch_time.val:.3f} ({batch_time.avg:.3f}) "
            f"data {data_time.val:.3f} ({data_time.avg:.3f}) "
            f"{losses} "
            f"lr {self.get_current_lr():.4e} "
            f"eta {eta}"
        )

    def parse_batch_train(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (images, labels, domains) of a training batch on the trainer's device."""
        return batch["img"].to(self.device), batch["label"].to(self.device), batch["domain"].to(self.device)


def build_trainer(cfg: CfgNode) -> SimpleTrainer:
    """Instantiate the trainer registered as TRAINER.NAME."""
    trainer_cls = TRAINER_REGISTRY.get(cfg.TRAINER.NAME)
    if cfg.VERBOSE:
        logger.info("Loading trainer: %s", cfg.TRAINER.NAME)
    return trainer_cls(cfg)
