"""Trainer hooks that keep a run's folder in step with training (see `mopd.runs`)."""
from __future__ import annotations

import logging

from mopd.backend import set_random_seed
from mopd.runs.finished import write_finished_marker
from mopd.runs.record import write_run_record
from mopd.training.epochs import RunningMeans, epoch_seed

logger = logging.getLogger(__name__)


class RunBookkeepingMixin:
    """The run record once training starts, reseeding and loss means per epoch, the finished marker at the end."""

    def before_train(self) -> None:
        super().before_train()
        write_run_record(self.output_dir, self.cfg)  # after the resume, which may still refuse the checkpoint

    def before_epoch(self) -> None:
        """Reseed from (SEED, epoch): data order and augmentation of an epoch repeat exactly after a resume."""
        super().before_epoch()
        if self.cfg.SEED >= 0:
            set_random_seed(epoch_seed(self.cfg.SEED, self.epoch))
        self.epoch_means = RunningMeans()

    def after_epoch(self) -> None:
        """Log the epoch's mean of every loss part (and accuracy), to log.txt and tensorboard."""
        means = self.epoch_means.means()
        logger.info("epoch %d means: %s", self.epoch + 1, " ".join(f"{k} {v:.4f}" for k, v in means.items()))
        for name, value in means.items():
            self.write_scalar(f"train_epoch/{name}", value, self.epoch + 1)
        super().after_epoch()

    def after_train(self) -> None:
        super().after_train()
        write_finished_marker(self.output_dir, epoch=self.max_epoch, result=self._last_test_result)
