"""Built-in runtime with Dassl 0.6.3's names, config keys, defaults and semantics (the subset this repo uses).

`mopd.backend` uses it when Dassl is not installed. `checkpoint` and `lr_scheduler` are shared by
both backends.
"""
from mopd.engine.checkpoint import load_checkpoint, load_pretrained_weights, save_checkpoint
from mopd.engine.checkpoint_mixin import CheckpointMixin
from mopd.engine.data_manager import DataManager, DatasetWrapper
from mopd.engine.datasets import DATASET_REGISTRY, DatasetBase, Datum
from mopd.engine.defaults import get_cfg_default
from mopd.engine.env import collect_env_info, set_random_seed
from mopd.engine.evaluator import EVALUATOR_REGISTRY, Classification, build_evaluator
from mopd.engine.logger import setup_logger
from mopd.engine.lr_scheduler import build_lr_scheduler
from mopd.engine.meters import AverageMeter, MetricMeter
from mopd.engine.metrics import compute_accuracy
from mopd.engine.optimizer import build_optimizer
from mopd.engine.params import count_num_param
from mopd.engine.registry import Registry
from mopd.engine.trainer import TRAINER_REGISTRY, SimpleTrainer, TrainerBase, TrainerX, build_trainer
from mopd.engine.transforms import build_transform

__all__ = [
    "DATASET_REGISTRY",
    "EVALUATOR_REGISTRY",
    "TRAINER_REGISTRY",
    "AverageMeter",
    "CheckpointMixin",
    "Classification",
    "DataManager",
    "DatasetBase",
    "DatasetWrapper",
    "Datum",
    "MetricMeter",
    "Registry",
    "SimpleTrainer",
    "TrainerBase",
    "TrainerX",
    "build_evaluator",
    "build_lr_scheduler",
    "build_optimizer",
    "build_trainer",
    "build_transform",
    "collect_env_info",
    "compute_accuracy",
    "count_num_param",
    "get_cfg_default",
    "load_checkpoint",
    "load_pretrained_weights",
    "save_checkpoint",
    "set_random_seed",
    "setup_logger",
]
