"""Every config node this repository adds to Dassl's defaults, declared once.

YAML files only override these keys; a key that is not declared here or in Dassl's defaults
fails loudly when merged. Each method reads its own node plus `TRAINER.COOP`.
"""
from __future__ import annotations

from yacs.config import CfgNode as CN

from mopd.backend import get_cfg_default


def _add_dataset_keys(cfg: CN) -> None:
    cfg.DATASET.SUBSAMPLE_CLASSES = "all"  # all, base (first ceil(C/2) labels) or new (the rest)
    # Folder for the split files this repository writes (few-shot samples, splits made from raw
    # annotations), in one sub-folder per dataset; "" = inside each dataset's folder, as CoOp.
    # Set it when DATASET.ROOT is read-only; use one such folder per data root.
    cfg.DATASET.SPLIT_CACHE_DIR = ""


def _add_backbone_keys(cfg: CN) -> None:
    cfg.MODEL.BACKBONE.PATH = ""  # local CLIP weights (state_dict or JIT archive); "" = cache/download
    cfg.MODEL.BACKBONE.RANDOM_INIT = False  # real architecture, random weights (benchmarks only)


def _add_train_keys(cfg: CN) -> None:
    cfg.TRAIN.DETERMINISTIC = False  # bit-for-bit repeatable CPU runs: deterministic algorithms only


def _add_test_keys(cfg: CN) -> None:
    # Test-image features are the same in every evaluation of a study (frozen encoder, fixed test transform):
    # they are computed once, stored, and each later evaluation is one product per batch. Training never reads them.
    cfg.TEST.FEATURE_CACHE = CN()
    cfg.TEST.FEATURE_CACHE.ENABLED = True  # read/fill the evaluation feature cache; False: encode the images every time
    cfg.TEST.FEATURE_CACHE.DIR = ""  # its folder; "" = $OUTPUT/feature_cache ($OUTPUT unset: the checkout's output/)
    # How an evaluation finds the sha256 of the test images' bytes (part of the key): "stat" = the digest recorded
    # under their sizes, modification and inode change times, hashed again after any change; "content" = hash
    # every image at every evaluation (file systems without a real change time: squashfs, some FUSE mounts)
    cfg.TEST.FEATURE_CACHE.IMAGE_CHECK = "stat"


def _add_coop_node(cfg: CN) -> None:
    cfg.TRAINER.COOP = CN()
    cfg.TRAINER.COOP.N_CTX = 16  # number of learnable context tokens (>= 1); CTX_INIT overrides it
    cfg.TRAINER.COOP.CTX_INIT = ""  # words that initialise the context, e.g. "a photo of a"; "" = random
    cfg.TRAINER.COOP.CSC = False  # class-specific contexts (one context per class)
    cfg.TRAINER.COOP.CLASS_TOKEN_POSITION = "end"  # where the class name goes: end, middle or front
    cfg.TRAINER.COOP.PREC = "fp16"  # fp16 (CLIP's weights), fp32, or amp (fp32 weights, autocast)
    cfg.TRAINER.COOP.AMP_DTYPE = "auto"  # autocast dtype of amp: fp16, bf16, or auto (fp16 on CUDA, bf16 on CPU)
    cfg.TRAINER.COOP.MAX_NONFINITE_STEPS = 10  # stop after this many NaN/inf losses in a row (each is skipped)
    # Compute as the CoOp-family authors' code does where this repository computes otherwise on purpose: every
    # text pass over all 77 tokens (not cut after the EOT token) and the cross-entropy in the logits' dtype (not
    # fp32). Their numbers bit for bit on the same machine, slower; the results agree within round-off either way.
    cfg.TRAINER.COOP.AUTHORS_NUMERICS = False
    # A trainer whose checkpoints --eval-only may load besides this one's, e.g. CoOp to evaluate a CoOp
    # prompt under MoPD; "" = only this trainer's (a checkpoint of another trainer is an error)
    cfg.TRAINER.COOP.ACCEPT_CHECKPOINT_OF = ""


def _add_mopd_node(cfg: CN) -> None:
    cfg.TRAINER.MOPD = CN()
    # teacher pool: custom (the authors' 12 per dataset), imagenet80 (CLIP's 80), mixed (the authors' 35
    # task-related/unrelated ablation templates), noisy (their 12 task-unrelated ones), file (POOL_FILE),
    # or several joined by "+" (e.g. "custom+noisy"), concatenated in that order
    cfg.TRAINER.MOPD.POOL = "custom"
    cfg.TRAINER.MOPD.POOL_FILE = ""  # text file, one template with "{}" per line (POOL "file")
    cfg.TRAINER.MOPD.TOP_K = 2  # teacher prompts selected per image by the gate (1 <= k <= pool size)
    cfg.TRAINER.MOPD.TEMPERATURE = 1.0  # distillation temperature tau (> 0)
    cfg.TRAINER.MOPD.W = 0.8  # weight of the CE loss; the MPD loss gets 1 - W (0 <= W <= 1)
    cfg.TRAINER.MOPD.W2 = 0.1  # weight of the MPS (selection) loss (>= 0)


def _add_cocoop_node(cfg: CN) -> None:
    cfg.TRAINER.COCOOP = CN()
    cfg.TRAINER.COCOOP.IMAGES_PER_CALL = 8  # images whose C prompts are encoded together (memory vs speed)


def _add_kgcoop_node(cfg: CN) -> None:
    cfg.TRAINER.KGCOOP = CN()
    cfg.TRAINER.KGCOOP.W = 8.0  # weight of the knowledge-guided (hand-crafted text) loss (>= 0)


def _add_prograd_node(cfg: CN) -> None:
    cfg.TRAINER.PROGRAD = CN()
    cfg.TRAINER.PROGRAD.LAMBDA = 1.0  # strength of the projection that removes conflicting gradient
    cfg.TRAINER.PROGRAD.T = 1.0  # temperature of the KL to the zero-shot prediction (> 0)
    # ProGrad's init (its configs' CTX_INIT True): N_CTX vectors, zeros then the dataset template's words
    cfg.TRAINER.PROGRAD.INIT_FROM_TEMPLATE = False


def _add_maple_node(cfg: CN) -> None:
    cfg.TRAINER.MAPLE = CN()
    cfg.TRAINER.MAPLE.N_CTX = 2  # context tokens of each tower (text context; vision prompt = its projection)
    cfg.TRAINER.MAPLE.CTX_INIT = "a photo of a"  # words whose first N_CTX tokens start the context (N_CTX <= 4)
    cfg.TRAINER.MAPLE.PROMPT_DEPTH = 9  # layers of each tower that get prompts, the input included (1..layers)
    # cast every prompt to fp16 where it enters a tower, in every precision, as the authors' code does
    cfg.TRAINER.MAPLE.FP16_PROMPTS = True


def _add_ivlp_node(cfg: CN) -> None:
    cfg.TRAINER.IVLP = CN()
    cfg.TRAINER.IVLP.N_CTX_TEXT = 2  # text context tokens (and tokens of each deep text prompt)
    cfg.TRAINER.IVLP.N_CTX_VISION = 2  # tokens of each vision prompt
    cfg.TRAINER.IVLP.CTX_INIT = "a photo of a"  # words whose first N_CTX_TEXT tokens start the text context (<= 4)
    cfg.TRAINER.IVLP.PROMPT_DEPTH_TEXT = 9  # text layers with prompts, the input included (1..layers)
    cfg.TRAINER.IVLP.PROMPT_DEPTH_VISION = 9  # image layers with prompts (0 = no vision prompt .. layers)
    cfg.TRAINER.IVLP.FP16_PROMPTS = True  # cast every prompt to fp16 where it enters a tower, as the authors do


def _add_promptsrc_node(cfg: CN) -> None:
    cfg.TRAINER.PROMPTSRC = CN()
    # IVLP's prompts, at PromptSRC's published size
    cfg.TRAINER.PROMPTSRC.N_CTX_TEXT = 4
    cfg.TRAINER.PROMPTSRC.N_CTX_VISION = 4
    cfg.TRAINER.PROMPTSRC.CTX_INIT = "a photo of a"
    cfg.TRAINER.PROMPTSRC.PROMPT_DEPTH_TEXT = 9
    cfg.TRAINER.PROMPTSRC.PROMPT_DEPTH_VISION = 9
    cfg.TRAINER.PROMPTSRC.FP16_PROMPTS = True
    cfg.TRAINER.PROMPTSRC.TEXT_LOSS_WEIGHT = 25  # L1 to frozen CLIP's ensemble class features
    cfg.TRAINER.PROMPTSRC.IMAGE_LOSS_WEIGHT = 10  # L1 to frozen CLIP's image features
    cfg.TRAINER.PROMPTSRC.GPA_MEAN = 15  # epoch (1-based) of the largest weight of the Gaussian prompt aggregation
    cfg.TRAINER.PROMPTSRC.GPA_STD = 1
    # False (the authors'): GPA averages every weight, which rounds the frozen fp16 CLIP weights; True: only the prompts
    cfg.TRAINER.PROMPTSRC.GPA_ONLY_PROMPTS = False


def _add_mmrl_node(cfg: CN) -> None:
    cfg.TRAINER.MMRL = CN()
    cfg.TRAINER.MMRL.ALPHA = 0.7  # weight of the class-token branch in the loss and the fusion (0..1); rep gets 1 - ALPHA
    cfg.TRAINER.MMRL.REG_WEIGHT = 1.0  # weight of each cosine pull to frozen CLIP's image and text features (>= 0)
    cfg.TRAINER.MMRL.REP_LAYERS = [6, 7, 8, 9, 10, 11, 12]  # 1-based layers of both towers the tokens enter
    cfg.TRAINER.MMRL.REP_DIM = 512  # width of the shared representation tokens (>= 1)
    cfg.TRAINER.MMRL.N_REP_TOKENS = 5  # K, the number of representation tokens (>= 1)
    # The protocol, which decides the logits of evaluation (the authors' TASK): B2N (base-to-new: fusion on the
    # base classes, class-token branch on others), FS (few-shot: fusion), CD (cross-dataset and domain
    # generalisation: fusion on ImageNet, class-token branch on other datasets). The protocol scripts set it.
    cfg.TRAINER.MMRL.TASK = "B2N"


def _add_mmrlpp_node(cfg: CN) -> None:
    """MMRL++ (arXiv:2505.10088): MMRL's keys, with its defaults, and its own three."""
    cfg.TRAINER.MMRLPP = cfg.TRAINER.MMRL.clone()
    # weight of a later representation layer's tokens against those the previous block carried (0..1; 1 is MMRL's
    # replacement); it acts wherever the model runs, so cross-dataset tests set it per target dataset
    cfg.TRAINER.MMRLPP.BETA = 0.9
    cfg.TRAINER.MMRLPP.PROJ_LORA_DIM = 64  # rank of the learned A B added to CLIP's proj for the representation feature
    cfg.TRAINER.MMRLPP.RES_LORA_DIM = 4  # rank of each layer's residual A_l B_l on the shared projection weight


def extend_cfg(cfg: CN) -> None:
    """Add this repository's keys to a Dassl default config in place."""
    _add_dataset_keys(cfg)
    _add_backbone_keys(cfg)
    _add_train_keys(cfg)
    _add_test_keys(cfg)
    _add_coop_node(cfg)
    _add_mopd_node(cfg)
    _add_cocoop_node(cfg)
    _add_kgcoop_node(cfg)
    _add_prograd_node(cfg)
    _add_maple_node(cfg)
    _add_ivlp_node(cfg)
    _add_promptsrc_node(cfg)
    _add_mmrl_node(cfg)
    _add_mmrlpp_node(cfg)


def get_cfg() -> CN:
    """Return Dassl's defaults extended with every key of this repository."""
    cfg = get_cfg_default()
    extend_cfg(cfg)
    return cfg
