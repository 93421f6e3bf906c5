"""The authors' side: their train.py, trainers and CLIP under real Dassl, on the saved batches or as published.

Run by compare_authors.py (and make_authors_fixture.py, `"drive": "as_published"`: their own loaders, as a
user runs their train.py) as `python authors_side.py SPEC.json`, with the authors' clone and Dassl's first
on the import path; nothing of this repository's `mopd` or `trainers` is imported, and nothing is written
into either clone (no bytecode). Their files are used as they are; the run-time patches (each a few lines
here or in authors_patches.py):

  P2  clip._download returns the shared CLIP file (their loader downloads ViT-B/16 otherwise)
  P3  Dassl's warm-up scheduler without the positional `verbose` that torch >= 2.2 refuses
  P4  TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 in the environment (set by the caller), so Dassl's
      torch.load reads the pickled scheduler of their checkpoints (torch >= 2.6)
  P5  the synthetic dataset registered in Dassl's registry, split as their OxfordPets splits
  P7  MaPLe in fp32 only: `proj` cast back to fp32 after their `.half()` (a DEVIATION: their MaPLe
      crashes in fp32 without it; the initial values stay the fp16-rounded draws)
  P8  PromptSRC: `.cuda()` of tensors and modules returns them unmoved (their code calls it
      unconditionally; it has no CPU path)
  P9  PromptSRC in fp32 only (a DEVIATION: it crashes in fp32 otherwise): their image teacher, a separate
      fp16 CLIP image tower, cast to fp32; their teacher class features kept in fp32 where their forward
      casts them to fp16 for the teacher logits (fp32 images against fp16 features fail)

  P10 MMRL and MMRL++: `.cuda()` made a no-op as P8; the synthetic dataset's template ("a photo of a {}.", this
      repository's) added to their CUSTOM_TEMPLATES, which lists only the 15 benchmark datasets; TASK given on
      the command line, where their train.py reads it

PromptSRC's loss parts are read from their own calls of F.cross_entropy, F.l1_loss and F.kl_div,
recorded without changing them.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.dont_write_bytecode = True

from authors_patches import keep_maple_projection_fp32, keep_promptsrc_teacher_fp32, run_cuda_calls_on_the_cpu  # noqa: E402
from driving import read_spec, test_on, train_on, trainable  # noqa: E402

SPEC = read_spec()
sys.path[:0] = [SPEC["authors"], SPEC["dassl"]]

import torch  # noqa: E402
from torch.optim.lr_scheduler import _LRScheduler  # noqa: E402

import dassl.optim.lr_scheduler as dassl_schedulers  # noqa: E402


def _warmup_init(self, optimizer, successor, warmup_epoch, last_epoch=-1, verbose=False):  # P3
    self.successor = successor
    self.warmup_epoch = warmup_epoch
    _LRScheduler.__init__(self, optimizer, last_epoch)


dassl_schedulers._BaseWarmupScheduler.__init__ = _warmup_init

from clip import clip  # noqa: E402  (the authors' clip/)

clip._download = lambda url, root=None: SPEC["clip_file"]  # P2

import train as authors_train  # noqa: E402  (their train.py: registers their datasets and trainers)
from dassl.data.datasets import DATASET_REGISTRY, DatasetBase  # noqa: E402
from dassl.engine import TRAINER_REGISTRY, build_trainer  # noqa: E402
from dassl.evaluation import Classification  # noqa: E402
from dassl.utils import set_random_seed, setup_logger  # noqa: E402
from datasets.oxford_pets import OxfordPets  # noqa: E402

TRAINER_FILES = {"MaPLe": "MaPLe/vit_b16_c2_ep5_batch4_2ctx.yaml", "IVLP": "IVLP/vit_b16_c2_ep5_batch4_2+2ctx.yaml",
                 "PromptSRC": "PromptSRC/vit_b16_c2_ep20_batch4_4+4ctx.yaml", "MMRL": "MMRL/vit_b16.yaml",
                 "MMRLpp": "MMRLpp/vit_b16.yaml"}
MODEL_FOLDERS = {"MaPLe": "MultiModalPromptLearner", "IVLP": "VLPromptLearner", "PromptSRC": "VLPromptLearner",
                 "MMRL": "MultiModalRepresentationLearner", "MMRLpp": "MultiModalRepresentationLearner"}
NODES = {"MaPLe": "MAPLE", "IVLP": "IVLP", "PromptSRC": "PROMPTSRC", "MMRL": "MMRL", "MMRLpp": "MMRLpp"}


@DATASET_REGISTRY.register()
class Synthetic(DatasetBase):  # P5
    """This repository's synthetic dataset (CoOp's split file format), few-shot and base/new as their datasets do."""

    def __init__(self, cfg):
        dataset_dir = os.path.join(cfg.DATASET.ROOT, "synthetic")
        train, val, test = OxfordPets.read_split(os.path.join(dataset_dir, "split_synthetic.json"),
                                                 os.path.join(dataset_dir, "images"))
        if cfg.DATASET.NUM_SHOTS >= 1:
            train = self.generate_fewshot_dataset(train, num_shots=cfg.DATASET.NUM_SHOTS)
            val = self.generate_fewshot_dataset(val, num_shots=min(cfg.DATASET.NUM_SHOTS, 4))
        train, val, test = OxfordPets.subsample_classes(train, val, test, subsample=cfg.DATASET.SUBSAMPLE_CLASSES)
        super().__init__(train_x=train, val=val, test=test)


if SPEC["method"] == "MaPLe" and SPEC["prec"] == "fp32":  # P7
    import trainers.maple as authors_maple

    keep_maple_projection_fp32(authors_maple.MultiModalPromptLearner)


class _RecordedLosses:
    """Their `F` (torch.nn.functional) with the loss functions' results recorded, in call order."""

    def __init__(self, functional) -> None:
        self._functional, self.calls = functional, []

    def __getattr__(self, name: str):
        function = getattr(self._functional, name)
        if name not in ("cross_entropy", "l1_loss", "kl_div"):
            return function

        def recorded(*args, **kwargs):
            result = function(*args, **kwargs)
            self.calls.append((name, result.detach(), args[0].numel()))
            return result

        return recorded


LOSSES = None
if SPEC["method"] == "PromptSRC":
    run_cuda_calls_on_the_cpu()  # P8
    import trainers.promptsrc as authors_promptsrc

    LOSSES = authors_promptsrc.F = _RecordedLosses(authors_promptsrc.F)
    if SPEC["prec"] == "fp32":  # P9
        keep_promptsrc_teacher_fp32(authors_promptsrc.VLPromptLearner)


if SPEC["method"] in ("MMRL", "MMRLpp"):  # P10
    run_cuda_calls_on_the_cpu()
    import trainers.mmrl as authors_mmrl
    import trainers.mmrlpp as authors_mmrlpp

    for templates in (authors_mmrl.CUSTOM_TEMPLATES, authors_mmrlpp.CUSTOM_TEMPLATES):
        templates["Synthetic"] = "a photo of a {}."


def loss_parts(summary: dict) -> dict:
    """PromptSRC's parts of the step just taken, as they enter the total: their weights applied as their code
    applies them, in the dtype of each result (KL times T * T = 1, divided by B * C)."""
    calls, LOSSES.calls = LOSSES.calls, []
    (_, ce, _), (_, text, _), (_, image, _), (_, kl, logits) = calls  # their call order in one step
    weights = SPEC["loss_weights"]
    return {"ce": float(ce), "text_l1": float(text * weights["text"]), "image_l1": float(image * weights["image"]),
            "kl": float(kl * (1 * 1) / logits)}


def _args(subsample: str, eval_only: bool, prec: str) -> argparse.Namespace:
    """Their command line: the published config file, the spec's settings as overrides."""
    node = NODES[SPEC["method"]]
    opts = ["DATASET.NAME", "Synthetic", "DATASET.NUM_SHOTS", str(SPEC["num_shots"]),
            "DATASET.SUBSAMPLE_CLASSES", subsample, "INPUT.SIZE", f"({SPEC['image_size']}, {SPEC['image_size']})",
            "DATALOADER.NUM_WORKERS", "0", "OPTIM.MAX_EPOCH", str(SPEC["epochs"]), "USE_CUDA", "False",
            f"TRAINER.{node}.PREC", prec]
    for key, value in {**SPEC["depths"], **SPEC.get("method_opts", {})}.items():
        opts += [f"TRAINER.{node}.{key}", str(value)]
    if SPEC["method"] in ("MMRL", "MMRLpp"):
        opts += ["TASK", "B2N"]  # P10
    return argparse.Namespace(
        root=SPEC["data_root"], output_dir=SPEC["output_dir"] + (f"_eval_{subsample}_{prec}" if eval_only else ""),
        resume="", seed=SPEC["seed"], source_domains=None, target_domains=None, transforms=None,
        config_file=os.path.join(SPEC["authors"], "configs", "trainers", TRAINER_FILES[SPEC["method"]]),
        dataset_config_file="", trainer=SPEC["method"], backbone="", head="", eval_only=eval_only,
        model_dir=SPEC["output_dir"], load_epoch=SPEC["epochs"], no_train=False, opts=opts,
        train_epoch=None)  # MMRL's train.py has --train-epoch (unset: the config's MAX_EPOCH)


def build(subsample: str, eval_only: bool):
    """Their train.main up to the trainer: config, seed, logger, build_trainer."""
    cfg = authors_train.setup_cfg(_args(subsample, eval_only, SPEC["prec"]))
    if cfg.SEED >= 0:
        set_random_seed(cfg.SEED)
    setup_logger(cfg.OUTPUT_DIR)
    return build_trainer(cfg)


def on_saved_batches() -> dict:
    """Train and test on the saved batches; evaluate the last checkpoint on the new classes."""
    batches = torch.load(SPEC["batches_file"])
    trainer = build("base", eval_only=False)
    classnames = {"base": list(trainer.dm.dataset.classnames)}
    result = train_on(trainer, batches, trainer.model, loss_parts if LOSSES else None)
    accuracies = {"base": result.pop("acc_base")}
    evaluator = build("new", eval_only=True)
    classnames["new"] = list(evaluator.dm.dataset.classnames)
    evaluator.load_model(SPEC["output_dir"], epoch=SPEC["epochs"])
    accuracies["new"] = test_on(evaluator, batches["test_new"])
    return {**result, "acc": accuracies, "classnames": classnames, "trainable_names": sorted(trainable(trainer.model)),
            "model_folder": MODEL_FOLDERS[SPEC["method"]]}


def as_published() -> dict:
    """Their train.main as a user runs it (their loaders): train on base, then --eval-only on base and new.

    Returns each evaluation's accuracy, its prediction for each test image in their loader's order, and the
    smallest gap between an image's two largest logits. Recorded at
    their trainer's `test` and Dassl's evaluator, which every method's test feeds (MMRL's own `test` calls its
    model directly, not `model_inference`).
    """
    outcomes: list[dict] = []
    trainer_class = TRAINER_REGISTRY.get(SPEC["method"])
    test, process = trainer_class.test, Classification.process

    def recorded_test(self, *args, **kwargs):
        outcomes.append({"gaps": [], "predictions": []})
        outcomes[-1]["accuracy"] = float(test(self, *args, **kwargs))
        return outcomes[-1]["accuracy"]

    def recorded_process(self, output, label):
        top2 = output.float().topk(2, dim=1).values
        outcomes[-1]["gaps"] += (top2[:, 0] - top2[:, 1]).tolist()
        outcomes[-1]["predictions"] += output.argmax(dim=1).tolist()
        return process(self, output, label)

    trainer_class.test, Classification.process = recorded_test, recorded_process
    authors_train.main(_args("base", eval_only=False, prec=SPEC["prec"]))
    evaluations = {}
    for subsample in ("base", "new"):
        authors_train.main(_args(subsample, eval_only=True, prec=SPEC["eval_prec"]))
        outcome = outcomes[-1]
        evaluations[subsample] = {"accuracy": outcome["accuracy"], "predictions": outcome["predictions"],
                                  "smallest_gap": min(outcome["gaps"])}
    return {"evaluations": evaluations, "model_folder": MODEL_FOLDERS[SPEC["method"]]}


if __name__ == "__main__":
    torch.save(as_published() if SPEC["drive"] == "as_published" else on_saved_batches(), SPEC["result_file"])
