"""Dassl 0.6.3's default configuration tree: same keys, defaults and types.

Project-specific nodes (TRAINER.COOP, TRAINER.MOPD, DATASET.SUBSAMPLE_CLASSES, ...) are added by
`mopd.config`, not here, so this tree stays interchangeable with `dassl.config.get_cfg_default`.
"""
from __future__ import annotations

from yacs.config import CfgNode as CN


def _add_root(cfg: CN) -> None:
    cfg.VERSION = 1  # config format version
    cfg.OUTPUT_DIR = "./output"  # where log.txt, checkpoints and tensorboard files go
    cfg.RESUME = ""  # directory of an earlier run to resume from ("" = OUTPUT_DIR)
    cfg.SEED = -1  # random seed; negative = do not seed
    cfg.USE_CUDA = True  # use a GPU when one is available
    cfg.VERBOSE = True  # log trainer, dataset and evaluator details


def _add_input(cfg: CN) -> None:
    cfg.INPUT = CN()
    cfg.INPUT.SIZE = (224, 224)  # (height, width) fed to the model
    cfg.INPUT.INTERPOLATION = "bilinear"  # resize mode: bilinear, bicubic or nearest
    cfg.INPUT.TRANSFORMS = ()  # train augmentations by name, e.g. ("random_resized_crop", "random_flip", "normalize")
    cfg.INPUT.NO_TRANSFORM = False  # if True the loaders return PIL images untouched
    cfg.INPUT.PIXEL_MEAN = [0.485, 0.456, 0.406]  # per-channel mean for "normalize" (ImageNet)
    cfg.INPUT.PIXEL_STD = [0.229, 0.224, 0.225]  # per-channel std for "normalize" (ImageNet)
    cfg.INPUT.CROP_PADDING = 4  # zero padding (pixels) for "random_crop"
    cfg.INPUT.RRCROP_SCALE = (0.08, 1.0)  # area range of "random_resized_crop"
    cfg.INPUT.CUTOUT_N = 1  # number of holes for "cutout"
    cfg.INPUT.CUTOUT_LEN = 16  # hole side length (pixels) for "cutout"
    cfg.INPUT.GN_MEAN = 0.0  # mean of "gaussian_noise"
    cfg.INPUT.GN_STD = 0.15  # std of "gaussian_noise"
    cfg.INPUT.RANDAUGMENT_N = 2  # number of RandAugment operations
    cfg.INPUT.RANDAUGMENT_M = 10  # RandAugment magnitude
    cfg.INPUT.COLORJITTER_B = 0.4  # "colorjitter" brightness
    cfg.INPUT.COLORJITTER_C = 0.4  # "colorjitter" contrast
    cfg.INPUT.COLORJITTER_S = 0.4  # "colorjitter" saturation
    cfg.INPUT.COLORJITTER_H = 0.1  # "colorjitter" hue
    cfg.INPUT.RGS_P = 0.2  # probability of "randomgrayscale"
    cfg.INPUT.GB_P = 0.5  # probability of "gaussian_blur"
    cfg.INPUT.GB_K = 21  # "gaussian_blur" kernel size (odd)


def _add_dataset(cfg: CN) -> None:
    cfg.DATASET = CN()
    cfg.DATASET.ROOT = ""  # directory that holds the datasets
    cfg.DATASET.NAME = ""  # registered dataset class name
    cfg.DATASET.SOURCE_DOMAINS = ()  # source domain names (domain adaptation/generalisation)
    cfg.DATASET.TARGET_DOMAINS = ()  # target domain names (domain adaptation/generalisation)
    cfg.DATASET.NUM_LABELED = -1  # total labelled instances (semi-supervised learning)
    cfg.DATASET.NUM_SHOTS = -1  # images per class for few-shot training; -1 = all
    cfg.DATASET.VAL_PERCENT = 0.1  # fraction of train data held out as val (SSL datasets)
    cfg.DATASET.STL10_FOLD = -1  # STL-10 fold index 0-9; negative = none
    cfg.DATASET.CIFAR_C_TYPE = ""  # CIFAR-C corruption type
    cfg.DATASET.CIFAR_C_LEVEL = 1  # CIFAR-C corruption level 1-5
    cfg.DATASET.ALL_AS_UNLABELED = False  # also use labelled data as unlabelled (SSL)


def _add_loader_node(batch_size: int) -> CN:
    node = CN()
    node.SAMPLER = "RandomSampler"  # RandomSampler or SequentialSampler
    node.BATCH_SIZE = batch_size  # images per batch
    node.N_DOMAIN = 0  # domains per batch for RandomDomainSampler; 0 or -1 = all
    node.N_INS = 16  # instances per class for RandomClassSampler
    return node


def _add_dataloader(cfg: CN) -> None:
    cfg.DATALOADER = CN()
    cfg.DATALOADER.NUM_WORKERS = 4  # loader worker processes
    cfg.DATALOADER.K_TRANSFORMS = 1  # augmented views per training image
    cfg.DATALOADER.RETURN_IMG0 = False  # also return the un-augmented image as "img0"
    cfg.DATALOADER.TRAIN_X = _add_loader_node(32)  # labelled training loader
    cfg.DATALOADER.TRAIN_U = _add_loader_node(32)  # unlabelled training loader
    cfg.DATALOADER.TRAIN_U.SAME_AS_X = True  # reuse TRAIN_X's sampler and batch settings
    cfg.DATALOADER.TEST = CN()
    cfg.DATALOADER.TEST.SAMPLER = "SequentialSampler"  # sampler of the val/test loaders
    cfg.DATALOADER.TEST.BATCH_SIZE = 32  # images per val/test batch


def _add_model(cfg: CN) -> None:
    cfg.MODEL = CN()
    cfg.MODEL.INIT_WEIGHTS = ""  # path of weights to initialise the model from
    cfg.MODEL.BACKBONE = CN()
    cfg.MODEL.BACKBONE.NAME = ""  # backbone name
    cfg.MODEL.BACKBONE.PRETRAINED = True  # load the backbone's pretrained weights
    cfg.MODEL.HEAD = CN()
    cfg.MODEL.HEAD.NAME = ""  # embedding head name; "" = none
    cfg.MODEL.HEAD.HIDDEN_LAYERS = ()  # head hidden sizes, e.g. (512, 512)
    cfg.MODEL.HEAD.ACTIVATION = "relu"  # head activation
    cfg.MODEL.HEAD.BN = True  # batch norm in the head
    cfg.MODEL.HEAD.DROPOUT = 0.0  # head dropout probability


def _add_optim(cfg: CN) -> None:
    cfg.OPTIM = CN()
    cfg.OPTIM.NAME = "adam"  # adam, amsgrad, sgd, rmsprop or adamw
    cfg.OPTIM.LR = 0.0003  # base learning rate
    cfg.OPTIM.WEIGHT_DECAY = 5e-4  # L2 weight decay
    cfg.OPTIM.MOMENTUM = 0.9  # momentum of sgd and rmsprop
    cfg.OPTIM.SGD_DAMPNING = 0  # sgd dampening (Dassl's spelling)
    cfg.OPTIM.SGD_NESTEROV = False  # sgd Nesterov momentum
    cfg.OPTIM.RMSPROP_ALPHA = 0.99  # rmsprop smoothing constant
    cfg.OPTIM.ADAM_BETA1 = 0.9  # beta1 of adam-type optimisers
    cfg.OPTIM.ADAM_BETA2 = 0.999  # beta2 of adam-type optimisers
    cfg.OPTIM.STAGED_LR = False  # give NEW_LAYERS the base lr and other layers lr * BASE_LR_MULT
    cfg.OPTIM.NEW_LAYERS = ()  # child-module names trained at the full lr when STAGED_LR
    cfg.OPTIM.BASE_LR_MULT = 0.1  # lr multiplier of the other layers when STAGED_LR
    cfg.OPTIM.LR_SCHEDULER = "single_step"  # single_step, multi_step or cosine (stepped once per epoch)
    cfg.OPTIM.STEPSIZE = (-1,)  # decay epochs; for single_step the last one, <= 0 means MAX_EPOCH
    cfg.OPTIM.GAMMA = 0.1  # lr decay factor of the step schedulers
    cfg.OPTIM.MAX_EPOCH = 10  # training epochs (also the cosine period)
    cfg.OPTIM.WARMUP_EPOCH = -1  # warm-up epochs; > 0 enables warm-up
    cfg.OPTIM.WARMUP_TYPE = "linear"  # linear or constant
    cfg.OPTIM.WARMUP_CONS_LR = 1e-5  # lr during a constant warm-up
    cfg.OPTIM.WARMUP_MIN_LR = 1e-5  # first-epoch lr of a linear warm-up
    cfg.OPTIM.WARMUP_RECOUNT = True  # restart the main schedule's epoch count after warm-up


def _add_train_test(cfg: CN) -> None:
    cfg.TRAIN = CN()
    cfg.TRAIN.CHECKPOINT_FREQ = 0  # save a checkpoint every N epochs; <= 0 = only the last
    cfg.TRAIN.PRINT_FREQ = 10  # print a training line every N batches
    cfg.TRAIN.COUNT_ITER = "train_x"  # batches per epoch from train_x, train_u or smaller_one
    cfg.TEST = CN()
    cfg.TEST.EVALUATOR = "Classification"  # registered evaluator name
    cfg.TEST.PER_CLASS_RESULT = False  # also print per-class accuracy
    cfg.TEST.COMPUTE_CMAT = False  # save the row-normalised confusion matrix to OUTPUT_DIR/cmat.pt
    cfg.TEST.NO_TEST = False  # skip evaluation after training
    cfg.TEST.SPLIT = "test"  # split of the final evaluation: test or val
    cfg.TEST.FINAL_MODEL = "last_step"  # model evaluated after training: last_step or best_val


def _add_dassl_trainers(cfg: CN) -> None:
    cfg.TRAINER = CN()
    cfg.TRAINER.NAME = ""  # registered trainer class name
    # Domain adaptation
    cfg.TRAINER.MCD = CN()
    cfg.TRAINER.MCD.N_STEP_F = 4  # feature-extractor steps per iteration
    cfg.TRAINER.MME = CN()
    cfg.TRAINER.MME.LMDA = 0.1  # entropy loss weight
    cfg.TRAINER.CDAC = CN()
    cfg.TRAINER.CDAC.CLASS_LR_MULTI = 10  # classifier lr multiplier
    cfg.TRAINER.CDAC.RAMPUP_COEF = 30  # ramp-up coefficient
    cfg.TRAINER.CDAC.RAMPUP_ITRS = 1000  # ramp-up iterations
    cfg.TRAINER.CDAC.TOPK_MATCH = 5  # top-k for pairwise matching
    cfg.TRAINER.CDAC.P_THRESH = 0.95  # pseudo-label confidence threshold
    cfg.TRAINER.CDAC.STRONG_TRANSFORMS = ()  # strong augmentations by name
    cfg.TRAINER.SE = CN()
    cfg.TRAINER.SE.EMA_ALPHA = 0.999  # teacher EMA decay
    cfg.TRAINER.SE.CONF_THRE = 0.95  # confidence threshold
    cfg.TRAINER.SE.RAMPUP = 300  # consistency ramp-up iterations
    cfg.TRAINER.M3SDA = CN()
    cfg.TRAINER.M3SDA.LMDA = 0.5  # moment distance loss weight
    cfg.TRAINER.M3SDA.N_STEP_F = 4  # feature-extractor steps per iteration
    cfg.TRAINER.DAEL = CN()
    cfg.TRAINER.DAEL.WEIGHT_U = 0.5  # unlabelled loss weight
    cfg.TRAINER.DAEL.CONF_THRE = 0.95  # confidence threshold
    cfg.TRAINER.DAEL.STRONG_TRANSFORMS = ()  # strong augmentations by name
    # Domain generalisation
    cfg.TRAINER.CROSSGRAD = CN()
    cfg.TRAINER.CROSSGRAD.EPS_F = 1.0  # scale of the domain net's gradients
    cfg.TRAINER.CROSSGRAD.EPS_D = 1.0  # scale of the label net's gradients
    cfg.TRAINER.CROSSGRAD.ALPHA_F = 0.5  # label net loss balance
    cfg.TRAINER.CROSSGRAD.ALPHA_D = 0.5  # domain net loss balance
    cfg.TRAINER.DDAIG = CN()
    cfg.TRAINER.DDAIG.G_ARCH = ""  # generator architecture
    cfg.TRAINER.DDAIG.LMDA = 0.3  # perturbation weight
    cfg.TRAINER.DDAIG.CLAMP = False  # clamp the perturbation
    cfg.TRAINER.DDAIG.CLAMP_MIN = -1.0  # clamp lower bound
    cfg.TRAINER.DDAIG.CLAMP_MAX = 1.0  # clamp upper bound
    cfg.TRAINER.DDAIG.WARMUP = 0  # warm-up iterations
    cfg.TRAINER.DDAIG.ALPHA = 0.5  # loss balance
    cfg.TRAINER.DAELDG = CN()
    cfg.TRAINER.DAELDG.WEIGHT_U = 0.5  # unlabelled loss weight
    cfg.TRAINER.DAELDG.CONF_THRE = 0.95  # confidence threshold
    cfg.TRAINER.DAELDG.STRONG_TRANSFORMS = ()  # strong augmentations by name
    cfg.TRAINER.DOMAINMIX = CN()
    cfg.TRAINER.DOMAINMIX.TYPE = "crossdomain"  # mixing type
    cfg.TRAINER.DOMAINMIX.ALPHA = 1.0  # Beta distribution alpha
    cfg.TRAINER.DOMAINMIX.BETA = 1.0  # Beta distribution beta
    # Semi-supervised learning
    cfg.TRAINER.ENTMIN = CN()
    cfg.TRAINER.ENTMIN.LMDA = 1e-3  # entropy loss weight
    cfg.TRAINER.MEANTEACHER = CN()
    cfg.TRAINER.MEANTEACHER.WEIGHT_U = 1.0  # unlabelled loss weight
    cfg.TRAINER.MEANTEACHER.EMA_ALPHA = 0.999  # teacher EMA decay
    cfg.TRAINER.MEANTEACHER.RAMPUP = 5  # epochs to ramp up the unlabelled weight
    cfg.TRAINER.MIXMATCH = CN()
    cfg.TRAINER.MIXMATCH.WEIGHT_U = 100.0  # unlabelled loss weight
    cfg.TRAINER.MIXMATCH.TEMP = 2.0  # sharpening temperature
    cfg.TRAINER.MIXMATCH.MIXUP_BETA = 0.75  # mixup Beta parameter
    cfg.TRAINER.MIXMATCH.RAMPUP = 20000  # steps to ramp up the unlabelled weight
    cfg.TRAINER.FIXMATCH = CN()
    cfg.TRAINER.FIXMATCH.WEIGHT_U = 1.0  # unlabelled loss weight
    cfg.TRAINER.FIXMATCH.CONF_THRE = 0.95  # confidence threshold
    cfg.TRAINER.FIXMATCH.STRONG_TRANSFORMS = ()  # strong augmentations by name


def get_cfg_default() -> CN:
    """Return a fresh copy of Dassl 0.6.3's default config tree."""
    cfg = CN()
    _add_root(cfg)
    _add_input(cfg)
    _add_dataset(cfg)
    _add_dataloader(cfg)
    _add_model(cfg)
    _add_optim(cfg)
    _add_train_test(cfg)
    _add_dassl_trainers(cfg)
    return cfg
