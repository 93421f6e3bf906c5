"""The shipped method configs hold the settings their authors publish (values copied from the sources named)."""
import os

import pytest

from mopd.config.defaults import get_cfg

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_OPTIM = {"OPTIM.NAME": "sgd", "OPTIM.LR": 0.002, "OPTIM.LR_SCHEDULER": "cosine", "OPTIM.WARMUP_EPOCH": 1,
          "OPTIM.WARMUP_TYPE": "constant", "OPTIM.WARMUP_CONS_LR": 1e-5}
_VIT = {"MODEL.BACKBONE.NAME": "ViT-B/16", "INPUT.SIZE": (224, 224)}
_PHOTO_INIT = {"TRAINER.COOP.N_CTX": 4, "TRAINER.COOP.CTX_INIT": "a photo of a"}

_TWO_TOWER = {**_OPTIM, **_VIT, "DATALOADER.TRAIN_X.BATCH_SIZE": 4, "DATALOADER.TEST.BATCH_SIZE": 100,
              "TRAINER.COOP.PREC": "fp16"}


def _maple(n_ctx: int, depth: int) -> dict:
    return {"TRAINER.MAPLE.N_CTX": n_ctx, "TRAINER.MAPLE.CTX_INIT": "a photo of a", "TRAINER.MAPLE.PROMPT_DEPTH": depth}


def _ivlp(node: str, n_text: int, n_vision: int, depth_text: int, depth_vision: int) -> dict:
    return {f"TRAINER.{node}.N_CTX_TEXT": n_text, f"TRAINER.{node}.N_CTX_VISION": n_vision,
            f"TRAINER.{node}.CTX_INIT": "a photo of a", f"TRAINER.{node}.PROMPT_DEPTH_TEXT": depth_text,
            f"TRAINER.{node}.PROMPT_DEPTH_VISION": depth_vision}


def _promptsrc(depth: int, gpa_mean: int, gpa_std: int) -> dict:
    return {**_ivlp("PROMPTSRC", 4, 4, depth, depth), "TRAINER.PROMPTSRC.TEXT_LOSS_WEIGHT": 25,
            "TRAINER.PROMPTSRC.IMAGE_LOSS_WEIGHT": 10, "TRAINER.PROMPTSRC.GPA_MEAN": gpa_mean,
            "TRAINER.PROMPTSRC.GPA_STD": gpa_std}


# config -> the authors' values. CTX_INIT "a photo of a" (or True) in their configs means 4 context
# vectors initialised from those words: their prompt learners take N_CTX from the words.
PUBLISHED = {
    # KaiyangZhou/CoOp configs/trainers/CoOp/vit_b16_ctxv1.yaml, vit_b16_ep50_ctxv1.yaml (CoCoOp's CoOp runs)
    "CoOp/vit_b16_ctxv1": {**_OPTIM, **_VIT, **_PHOTO_INIT, "OPTIM.MAX_EPOCH": 200,
                           "DATALOADER.TRAIN_X.BATCH_SIZE": 32},
    "CoOp/vit_b16_ep50_ctxv1": {**_OPTIM, **_VIT, **_PHOTO_INIT, "OPTIM.MAX_EPOCH": 50,
                                "DATALOADER.TRAIN_X.BATCH_SIZE": 32},
    # KaiyangZhou/CoOp configs/trainers/CoOp/vit_b16*.yaml with scripts/coop/main.sh's N_CTX 16, random init
    "CoOp/vit_b16": {**_OPTIM, **_VIT, "OPTIM.MAX_EPOCH": 200, "DATALOADER.TRAIN_X.BATCH_SIZE": 32,
                     "TRAINER.COOP.N_CTX": 16, "TRAINER.COOP.CTX_INIT": ""},
    "CoOp/vit_b16_ep100": {**_OPTIM, **_VIT, "OPTIM.MAX_EPOCH": 100, "TRAINER.COOP.N_CTX": 16},
    "CoOp/vit_b16_ep50": {**_OPTIM, **_VIT, "OPTIM.MAX_EPOCH": 50, "TRAINER.COOP.N_CTX": 16},
    # KaiyangZhou/CoOp configs/trainers/CoCoOp/vit_b16_c4_ep10_batch1_ctxv1.yaml
    "CoCoOp/vit_b16_c4_ep10_batch1_ctxv1": {**_OPTIM, **_VIT, **_PHOTO_INIT, "OPTIM.MAX_EPOCH": 10,
                                            "DATALOADER.TRAIN_X.BATCH_SIZE": 1, "TRAINER.COOP.PREC": "fp16"},
    # htyao89/KgCoOp KgCoOp/configs/trainers/KgCoOp/vit_b16_ep100_ctxv1.yaml; W 8.0 from scripts/run.sh
    "KgCoOp/vit_b16_ep100_ctxv1": {**_OPTIM, **_VIT, **_PHOTO_INIT, "OPTIM.MAX_EPOCH": 100,
                                   "DATALOADER.TRAIN_X.BATCH_SIZE": 128, "TRAINER.KGCOOP.W": 8.0},
    # BeierZhu/Prompt-align ProGrad.public/configs/trainers/ProGrad/rn50*.yaml, LAMBDA 1.0 from scripts/prograd.sh
    **{
        f"ProGrad/{backbone}{suffix}": {
            **_OPTIM, "MODEL.BACKBONE.NAME": name, "OPTIM.MAX_EPOCH": epochs, "DATALOADER.TRAIN_X.BATCH_SIZE": 32,
            "TRAINER.COOP.N_CTX": 16, "TRAINER.PROGRAD.INIT_FROM_TEMPLATE": True, "TRAINER.PROGRAD.LAMBDA": 1.0,
            "TRAINER.PROGRAD.T": 1.0,
        }
        for backbone, name in (("rn50", "RN50"), ("vit_b16", "ViT-B/16"))  # vit_b16*: ours, see README
        for suffix, epochs in (("", 200), ("_ep100", 100), ("_ep50", 50))
    },
    # muzairkhattak/multimodal-prompt-learning configs/trainers/MaPLe/*.yaml and IVLP/*.yaml
    "MaPLe/vit_b16_c2_ep5_batch4_2ctx": {**_TWO_TOWER, "OPTIM.LR": 0.0035, "OPTIM.MAX_EPOCH": 5,
                                        **_maple(2, 9)},
    "MaPLe/vit_b16_c2_ep5_batch4_2ctx_cross_datasets": {**_TWO_TOWER, "OPTIM.LR": 0.0026, "OPTIM.MAX_EPOCH": 2,
                                                       **_maple(2, 3)},
    "IVLP/vit_b16_c2_ep5_batch4_2+2ctx": {**_TWO_TOWER, "OPTIM.LR": 0.0035, "OPTIM.MAX_EPOCH": 5,
                                          **_ivlp("IVLP", 2, 2, 12, 12)},
    "IVLP/vit_b16_c2_ep5_batch4_4ctx_language_only": {**_TWO_TOWER, "OPTIM.LR": 0.0025, "OPTIM.MAX_EPOCH": 5,
                                                      **_ivlp("IVLP", 4, 0, 12, 0)},
    # muzairkhattak/PromptSRC configs/trainers/IVLP/vit_b16_c2_ep20_batch4_4+4ctx.yaml and PromptSRC/*.yaml (the
    # few-shot file's second GPA choice, a comment there, is its own file here)
    "IVLP/vit_b16_c2_ep20_batch4_4+4ctx": {**_TWO_TOWER, "OPTIM.LR": 0.0025, "OPTIM.MAX_EPOCH": 20,
                                           **_ivlp("IVLP", 4, 4, 9, 9)},
    "PromptSRC/vit_b16_c2_ep20_batch4_4+4ctx": {**_TWO_TOWER, "OPTIM.LR": 0.0025, "OPTIM.MAX_EPOCH": 20,
                                                **_promptsrc(9, 15, 1)},
    "PromptSRC/vit_b16_c2_ep20_batch4_4+4ctx_cross_datasets": {**_TWO_TOWER, "OPTIM.LR": 0.0025,
                                                               "OPTIM.MAX_EPOCH": 20, **_promptsrc(3, 6, 10)},
    "PromptSRC/vit_b16_c2_ep50_batch4_4+4ctx_few_shot": {**_TWO_TOWER, "OPTIM.LR": 0.0025, "OPTIM.MAX_EPOCH": 50,
                                                         **_promptsrc(9, 30, 30)},
    "PromptSRC/vit_b16_c2_ep50_batch4_4+4ctx_few_shot_gpa45": {**_TWO_TOWER, "OPTIM.LR": 0.0025,
                                                               "OPTIM.MAX_EPOCH": 50, **_promptsrc(9, 45, 5)},
}


def _mmrl(batch: int, epochs: int, warmup: int, reg_weight: float, lr: float = 0.001) -> dict:
    return {**_VIT, "OPTIM.NAME": "adamw", "OPTIM.LR": lr, "OPTIM.MAX_EPOCH": epochs, "OPTIM.LR_SCHEDULER": "cosine",
            "OPTIM.WARMUP_EPOCH": warmup, "OPTIM.WARMUP_TYPE": "constant", "OPTIM.WARMUP_CONS_LR": 1e-5,
            "DATALOADER.TRAIN_X.BATCH_SIZE": batch, "DATALOADER.TEST.BATCH_SIZE": 250, "INPUT.RRCROP_SCALE": (0.5, 1),
            "TRAINER.COOP.PREC": "amp", "TRAINER.MMRL.ALPHA": 0.7, "TRAINER.MMRL.REG_WEIGHT": reg_weight,
            "TRAINER.MMRL.N_REP_TOKENS": 5, "TRAINER.MMRL.REP_LAYERS": [6, 7, 8, 9, 10, 11, 12],
            "TRAINER.MMRL.REP_DIM": 512}


# yunncheng/MMRL configs/trainers/MMRL/*.yaml (their TRAINER.MMRL.PREC "amp" is TRAINER.COOP.PREC here)
PUBLISHED.update({
    "MMRL/vit_b16": _mmrl(4, 10, 1, 1.0),
    "MMRL/vit_b16_imagenet": _mmrl(32, 5, 1, 1.0),
    "MMRL/vit_b16_cross_datasets": _mmrl(32, 1, 0, 0.2),
    "MMRL/vit_b16_few_shot": _mmrl(32, 50, 1, 0.5),
})


def _mmrlpp(batch: int, epochs: int, warmup: int, reg_weight: float, lr: float = 0.001) -> dict:
    mmrl = _mmrl(batch, epochs, warmup, reg_weight, lr)
    return {**{key.replace(".MMRL.", ".MMRLPP."): value for key, value in mmrl.items()}, "TRAINER.MMRLPP.BETA": 0.9,
            "TRAINER.MMRLPP.PROJ_LORA_DIM": 64, "TRAINER.MMRLPP.RES_LORA_DIM": 4}


# yunncheng/MMRL configs/trainers/MMRLpp/*.yaml
PUBLISHED.update({
    "MMRLpp/vit_b16": _mmrlpp(4, 10, 1, 1.0),
    "MMRLpp/vit_b16_imagenet": _mmrlpp(32, 5, 1, 1.0),
    "MMRLpp/vit_b16_cross_datasets": _mmrlpp(32, 1, 0, 0.2),
    "MMRLpp/vit_b16_few_shot": _mmrlpp(32, 100, 1, 1.0, lr=0.002),
})
# yunncheng/MMRL trainers/config.py, MMRL (the same for every TASK): dataset -> (REG_WEIGHT, REP_DIM)
MMRL_PER_DATASET = {
    "stanford_cars": (7.0, 512), "fgvc_aircraft": (6.0, 512), "sun397": (6.0, 512), "dtd": (6.0, 512),
    "food101": (5.0, 512), "oxford_flowers": (4.0, 512), "ucf101": (3.0, 512), "imagenet": (0.5, 512),
    "caltech101": (0.5, 512), "oxford_pets": (0.2, 512), "eurosat": (0.01, 2048),
}
# yunncheng/MMRL trainers/config.py, MMRLpp, TASK B2N and FS: dataset -> (BETA, REG_WEIGHT)
MMRLPP_PER_DATASET = {
    "imagenet": (0.9, 0.2), "fgvc_aircraft": (0.9, 2.0), "ucf101": (0.9, 3.0), "dtd": (0.9, 7.0),
    "oxford_pets": (0.7, 0.01), "stanford_cars": (0.7, 6.0), "caltech101": (0.6, 3.0), "sun397": (0.5, 3.0),
    "oxford_flowers": (0.4, 7.0), "eurosat": (0.2, 0.01), "food101": (0.1, 1.0),
}
# ... TASK CD: the ImageNet model's (BETA, REG_WEIGHT), then the BETA each target dataset is evaluated with
MMRLPP_CD_IMAGENET = (0.9, 0.1)
MMRLPP_CD_BETA = {
    "imagenetv2": 0.9, "imagenet_r": 0.9, "imagenet_a": 0.8, "imagenet_sketch": 0.7, "fgvc_aircraft": 0.9,
    "ucf101": 0.9, "sun397": 0.7, "oxford_pets": 0.6, "caltech101": 0.6, "dtd": 0.5, "oxford_flowers": 0.4,
    "stanford_cars": 0.3, "eurosat": 0.3, "food101": 0.3,
}

# cheny02/MoPD-TMM scripts/run.sh: dataset -> (W, W2, TOP_K "num_prompts", epochs of its config)
MOPD_BASE2NEW = {
    "imagenet": (0.8, 0.0005, 3, 25),
    "caltech101": (0.8, 0.0005, 3, 100),
    "oxford_pets": (0.8, 0.5, 3, 25),
    "stanford_cars": (0.8, 0.1, 3, 100),
    "oxford_flowers": (0.8, 0.1, 3, 100),
    "food101": (0.5, 0.1, 2, 25),
    "fgvc_aircraft": (0.8, 0.1, 2, 25),
    "sun397": (0.8, 0.1, 2, 25),
    "dtd": (0.8, 0.1, 2, 25),
    "eurosat": (0.5, 0.1, 2, 100),
    "ucf101": (0.5, 0.1, 2, 25),
}


def _merged(*files: str):
    cfg = get_cfg()
    for file in files:
        cfg.merge_from_file(os.path.join(REPO_ROOT, "configs", "trainers", file))
    return cfg


def _value(cfg, key: str):
    for part in key.split("."):
        cfg = cfg[part]
    return cfg


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_config_holds_the_published_settings(name):
    cfg = _merged(f"{name}.yaml")
    assert {key: _value(cfg, key) for key in PUBLISHED[name]} == PUBLISHED[name]


@pytest.mark.parametrize("dataset", sorted(MOPD_BASE2NEW))
def test_mopd_base2new_settings_are_the_authors_run_sh(dataset):
    cfg = _merged("MoPD/vit_b16_ep25_ctxv1.yaml", f"MoPD/base2new/{dataset}.yaml")
    mopd = cfg.TRAINER.MOPD
    assert (mopd.W, mopd.W2, mopd.TOP_K, cfg.OPTIM.MAX_EPOCH) == MOPD_BASE2NEW[dataset]
    expected = {**_OPTIM, **_VIT, **_PHOTO_INIT, "DATALOADER.TRAIN_X.BATCH_SIZE": 128, "TRAINER.MOPD.POOL": "custom",
                "TRAINER.MOPD.TEMPERATURE": 1.0}
    assert {key: _value(cfg, key) for key in expected} == expected


@pytest.mark.parametrize("dataset", sorted(MMRL_PER_DATASET))
def test_mmrl_per_dataset_overlays_are_the_authors_table_and_beat_the_protocol_config(dataset):
    for config in ("vit_b16", "vit_b16_few_shot"):
        mmrl = _merged(f"MMRL/{config}.yaml", f"MMRL/datasets/{dataset}.yaml").TRAINER.MMRL
        assert (mmrl.REG_WEIGHT, mmrl.REP_DIM) == MMRL_PER_DATASET[dataset]


@pytest.mark.parametrize("dataset", sorted(MMRLPP_PER_DATASET))
def test_mmrlpp_per_dataset_overlays_are_the_authors_table_and_beat_the_protocol_config(dataset):
    for config in ("vit_b16", "vit_b16_few_shot", "vit_b16_imagenet"):
        node = _merged(f"MMRLpp/{config}.yaml", f"MMRLpp/datasets/{dataset}.yaml").TRAINER.MMRLPP
        assert (node.BETA, node.REG_WEIGHT) == MMRLPP_PER_DATASET[dataset]


def test_mmrlpp_cross_dataset_overlays_are_the_authors_cd_table():
    files = ("MMRLpp/vit_b16_cross_datasets.yaml", "MMRLpp/cross_datasets/imagenet.yaml")
    node = _merged(*files).TRAINER.MMRLPP
    assert (node.BETA, node.REG_WEIGHT) == MMRLPP_CD_IMAGENET
    folder = os.path.join(REPO_ROOT, "configs", "trainers", "MMRLpp", "cross_datasets")
    overlays = sorted(name[:-5] for name in os.listdir(folder))
    assert overlays == sorted([*MMRLPP_CD_BETA, "imagenet"])
    for dataset, beta in MMRLPP_CD_BETA.items():
        target = _merged(*files, f"MMRLpp/cross_datasets/{dataset}.yaml").TRAINER.MMRLPP
        assert (target.BETA, target.REG_WEIGHT) == (beta, MMRLPP_CD_IMAGENET[1]), dataset  # only BETA changes
