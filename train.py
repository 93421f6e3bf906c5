r"""Train or evaluate a prompt-learning method on CLIP (CoOp's command line).

Example:
    python train.py --trainer MoPD --root $DATA --seed 1 \
        --dataset-config-file configs/datasets/caltech101.yaml \
        --config-file configs/trainers/MoPD/vit_b16_ep25_ctxv1.yaml \
        --output-dir output/caltech101 DATASET.NUM_SHOTS 16 DATASET.SUBSAMPLE_CLASSES base
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from mopd.cli.errors import check_output_dir, exit_on_interrupt, exit_on_user_error  # noqa: E402
from mopd.config.checks import check_epochs_and_batches  # noqa: E402
from mopd.runs.folder import ALLOW_FLAG, RunFolder, check_run_folder  # noqa: E402
from mopd.runs.lock import lock_output_dir  # noqa: E402
from mopd.runs.record import describe_changes  # noqa: E402

with exit_on_user_error():  # importing the backend fails on a MOPD_BACKEND that cannot be had
    import datasets  # noqa: E402,F401  (registers every dataset)
    import trainers  # noqa: E402,F401  (registers every trainer)
    from mopd.backend import (  # noqa: E402
        BACKEND_DESCRIPTION,
        DATASET_REGISTRY,
        TRAINER_REGISTRY,
        build_trainer,
        collect_env_info,
        set_random_seed,
        setup_logger,
    )
    from mopd.cli.config import build_cfg, check_registered, configure_logging, unread_settings  # noqa: E402

logger = logging.getLogger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=str, default="", help="path to the datasets root ($DATA)")
    parser.add_argument("--output-dir", type=str, default="", help="output directory")
    parser.add_argument("--resume", type=str, default="", help="checkpoint directory to resume training from")
    parser.add_argument("--seed", type=int, default=None, help="fixed random seed (any integer, 0 included)")
    parser.add_argument("--source-domains", type=str, nargs="+", help="source domains for DA/DG")
    parser.add_argument("--target-domains", type=str, nargs="+", help="target domains for DA/DG")
    parser.add_argument("--transforms", type=str, nargs="+", help="data augmentation methods")
    parser.add_argument(
        "--config-file", action="append", default=[], help="trainer config file; repeat to merge several in order"
    )
    parser.add_argument("--dataset-config-file", type=str, default="", help="dataset config file")
    parser.add_argument("--trainer", type=str, default="", help="trainer name, e.g. MoPD or CoOp")
    parser.add_argument("--backbone", type=str, default="", help="CLIP backbone name, e.g. ViT-B/16 or tiny")
    parser.add_argument("--head", type=str, default="", help="name of head (unused by CLIP trainers)")
    parser.add_argument("--eval-only", action="store_true", help="evaluate a saved model only")
    parser.add_argument("--model-dir", type=str, default="", help="directory of the model to evaluate")
    parser.add_argument("--load-epoch", type=int, default=None, help="epoch of the checkpoint to evaluate")
    parser.add_argument("--no-train", action="store_true", help="build everything but do not train")
    parser.add_argument(
        ALLOW_FLAG, action="store_true",
        help="resume (or accept as finished) a run folder whose recorded settings differ from this command's",
    )
    parser.add_argument("opts", default=None, nargs=argparse.REMAINDER, help="config overrides: KEY VALUE ...")
    return parser.parse_args(argv)


def _trains(args: argparse.Namespace) -> bool:
    return not args.eval_only and not args.no_train


def checked_cfg(args: argparse.Namespace):
    """The effective config, checked before anything is written."""
    with exit_on_user_error():
        cfg = build_cfg(args)
        check_registered(cfg.TRAINER.NAME, TRAINER_REGISTRY, "trainer", "--trainer")
        check_registered(cfg.DATASET.NAME, DATASET_REGISTRY, "dataset", "DATASET.NAME")
        check_output_dir(cfg.OUTPUT_DIR)
        check_epochs_and_batches(cfg, training=_trains(args))
    return cfg


def inspect_folder(args: argparse.Namespace, cfg) -> RunFolder | None:
    """Where training stands in OUTPUT_DIR (None for evaluation); different settings stop here."""
    if not _trains(args):
        return None
    with exit_on_user_error():
        return check_run_folder(cfg.OUTPUT_DIR, cfg, allow_settings_change=args.allow_settings_change)


def report_finished(folder: RunFolder | None, output_dir: str) -> bool:
    """Say so and return True when a finished run of these settings is in `output_dir`."""
    if folder is None or folder.state != "finished":
        return False
    configure_logging()
    for note in folder.notes:
        logger.warning(note)
    logger.info("A finished run is already in %s; nothing to do", output_dir)
    return True


def setup(args: argparse.Namespace, cfg, folder: RunFolder | None, created: bool):
    """Logger and trainer; a user error here leaves the output directory as it was."""
    with exit_on_user_error(cfg.OUTPUT_DIR, created=created):
        if cfg.SEED >= 0:
            print(f"Setting fixed seed: {cfg.SEED}")
            set_random_seed(cfg.SEED)
        setup_logger(cfg.OUTPUT_DIR)
        configure_logging()
        if cfg.TRAIN.DETERMINISTIC:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # required by deterministic cuBLAS
            torch.use_deterministic_algorithms(True)
        elif torch.cuda.is_available() and cfg.USE_CUDA:
            torch.backends.cudnn.benchmark = True
        print(f"** Config **\n{cfg}")
        print(f"** System info **\n{collect_env_info()}\n")
        logger.info("Backend: %s", BACKEND_DESCRIPTION)
        for line in unread_settings(cfg):
            logger.warning(line)
        for note in folder.notes if folder else ():
            logger.warning(note)
        if folder and folder.changed:
            logger.warning("Settings changed in %s (%s): %s", cfg.OUTPUT_DIR, ALLOW_FLAG,
                           describe_changes(folder.changed))
        trainer = build_trainer(cfg)
        if _trains(args) and hasattr(trainer, "check_training_prompts"):
            trainer.check_training_prompts()
        if args.eval_only:
            if not args.model_dir and trainer.get_model_names():
                raise ValueError(f"--eval-only needs --model-dir: {cfg.TRAINER.NAME} evaluates a trained prompt")
            trainer.load_model(args.model_dir, epoch=args.load_epoch)
    return trainer


def _interrupted(args: argparse.Namespace, trainer) -> str:
    if trainer is None:
        return "interrupted before the run started; run the same command to start it"
    if not _trains(args):
        return "interrupted; run the same command to evaluate again"
    epoch = max(trainer.epoch, trainer.start_epoch) + 1
    return f"interrupted at epoch {epoch}; run the same command to resume"


def main(args: argparse.Namespace) -> None:
    """Train or evaluate in OUTPUT_DIR, holding the folder for the whole run.

    A refusal (settings that differ from the folder's record) or a finished run is decided before
    the folder is taken, so either writes nothing; the same look is repeated under the lock.
    """
    cfg = checked_cfg(args)
    if report_finished(inspect_folder(args, cfg), cfg.OUTPUT_DIR):
        return
    with exit_on_user_error():
        lock = lock_output_dir(cfg.OUTPUT_DIR)
    trainer = None
    with lock, exit_on_interrupt(lambda: _interrupted(args, trainer)):
        folder = inspect_folder(args, cfg)
        if report_finished(folder, cfg.OUTPUT_DIR):
            return
        trainer = setup(args, cfg, folder, lock.created)
        lock.mark_used()
        with exit_on_user_error():  # from here on, checkpoints and logs already written are kept
            if args.eval_only:
                trainer.test()
            elif not args.no_train:
                trainer.train()


if __name__ == "__main__":
    main(parse_args())
