"""Tests for mopd.engine.defaults.get_cfg_default (Dassl 0.6.3's default tree)."""
from yacs.config import CfgNode

from mopd.engine.defaults import get_cfg_default


def test_defaults_hold_dassl_values_and_types():
    cfg = get_cfg_default()
    assert cfg.INPUT.SIZE == (224, 224) and cfg.INPUT.INTERPOLATION == "bilinear"
    assert cfg.INPUT.RRCROP_SCALE == (0.08, 1.0)
    assert cfg.INPUT.PIXEL_MEAN == [0.485, 0.456, 0.406]
    assert cfg.DATALOADER.NUM_WORKERS == 4 and cfg.DATALOADER.TRAIN_X.BATCH_SIZE == 32
    assert cfg.DATALOADER.TRAIN_X.SAMPLER == "RandomSampler"
    assert cfg.DATALOADER.TEST.SAMPLER == "SequentialSampler"
    assert cfg.OPTIM.NAME == "adam" and cfg.OPTIM.LR == 0.0003 and cfg.OPTIM.STEPSIZE == (-1,)
    assert cfg.OPTIM.LR_SCHEDULER == "single_step" and cfg.OPTIM.WARMUP_EPOCH == -1
    assert cfg.OPTIM.WARMUP_TYPE == "linear" and cfg.OPTIM.WARMUP_RECOUNT is True
    assert cfg.TRAIN.PRINT_FREQ == 10 and cfg.TRAIN.CHECKPOINT_FREQ == 0
    assert cfg.TEST.FINAL_MODEL == "last_step" and cfg.TEST.EVALUATOR == "Classification"
    assert cfg.DATASET.NUM_SHOTS == -1 and cfg.SEED == -1 and cfg.OUTPUT_DIR == "./output"
    assert cfg.TRAINER.NAME == "" and cfg.TRAINER.FIXMATCH.CONF_THRE == 0.95


def test_each_call_returns_an_independent_tree_that_merges_yaml_overrides(tmp_path):
    cfg = get_cfg_default()
    cfg.OPTIM.LR = 1.0
    assert get_cfg_default().OPTIM.LR == 0.0003
    (tmp_path / "c.yaml").write_text("OPTIM:\n  MAX_EPOCH: 3\nINPUT:\n  SIZE: [32, 32]\n")
    cfg.merge_from_file(str(tmp_path / "c.yaml"))
    assert cfg.OPTIM.MAX_EPOCH == 3 and tuple(cfg.INPUT.SIZE) == (32, 32)
    assert isinstance(cfg.TRAINER, CfgNode)
