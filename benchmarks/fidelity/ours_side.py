"""This repository's side: train.py's config and trainer set-up, on one backend, driven with the saved batches.

Run by compare_authors.py as `python ours_side.py SPEC.json` with MOPD_BACKEND set (dassl: Dassl's clone on
PYTHONPATH). It trains and tests on the base classes, evaluates the last checkpoint on the new classes
(`--eval-only --model-dir --load-epoch`), evaluates the authors' checkpoint of the same settings the same
way (their run folder read through the restricted reader and the trainer's key mapping), and maps the
authors' initial and final prompts to this repository's names with that same mapping.

The one addition to the code under test: the CLIP architecture of the shared weights file is added to
the backbone table under `BACKBONE_NAME` (the table holds released backbones and "tiny"). With
`"authors_numerics": true` in the spec, the run sets TRAINER.COOP.AUTHORS_NUMERICS: the two places where
this repository computes differently on purpose compute as the authors' code does (every text pass over
all 77 tokens; the cross-entropy in the logits' dtype).
"""
from __future__ import annotations

import os
import sys

sys.dont_write_bytecode = True

from driving import read_spec, test_on, train_on  # noqa: E402

SPEC = read_spec()
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

import torch  # noqa: E402

import train as our_train  # noqa: E402
from mopd.backend import BACKEND  # noqa: E402
from mopd.clip import backbones  # noqa: E402

TRAINER_FILES = {"MaPLe": "MaPLe/vit_b16_c2_ep5_batch4_2ctx.yaml", "IVLP": "IVLP/vit_b16_c2_ep5_batch4_2+2ctx.yaml",
                 "PromptSRC": "PromptSRC/vit_b16_c2_ep20_batch4_4+4ctx.yaml", "MMRL": "MMRL/vit_b16.yaml",
                 "MMRLpp": "MMRLpp/vit_b16.yaml"}
NODES = {"MaPLe": "MAPLE", "IVLP": "IVLP", "PromptSRC": "PROMPTSRC", "MMRL": "MMRL", "MMRLpp": "MMRLPP"}


def _register_backbone() -> None:
    name = SPEC["backbone_name"]
    backbones.BACKBONES[name] = backbones.Backbone(name, "", backbones.ClipArchitecture(**SPEC["architecture"]))


def build(subsample: str, output_dir: str, model_dir: str = ""):
    """train.py's steps up to the trainer (config, checks, seed, logger, build_trainer, load_model)."""
    node = NODES[SPEC["method"]]
    argv = ["--root", SPEC["data_root"], "--seed", str(SPEC["seed"]), "--trainer", SPEC["method"],
            "--dataset-config-file", os.path.join(REPO, "configs", "datasets", "synthetic.yaml"),
            "--config-file", os.path.join(REPO, "configs", "trainers", TRAINER_FILES[SPEC["method"]]),
            "--output-dir", output_dir]
    if model_dir:
        argv += ["--eval-only", "--model-dir", model_dir, "--load-epoch", str(SPEC["epochs"])]
    argv += ["DATASET.NUM_SHOTS", "16", "DATASET.SUBSAMPLE_CLASSES", subsample,
             "INPUT.SIZE", f"({SPEC['image_size']}, {SPEC['image_size']})", "DATALOADER.NUM_WORKERS", "0",
             "OPTIM.MAX_EPOCH", str(SPEC["epochs"]), "USE_CUDA", "False", "TRAINER.COOP.PREC", SPEC["prec"],
             "MODEL.BACKBONE.NAME", SPEC["backbone_name"], "MODEL.BACKBONE.PATH", SPEC["clip_file"]]
    for key, value in SPEC["depths"].items():
        argv += [f"TRAINER.{node}.{key}", str(value)]
    argv += ["TRAINER.COOP.AUTHORS_NUMERICS", str(SPEC["authors_numerics"])]
    args = our_train.parse_args(argv)
    cfg = our_train.checked_cfg(args)
    return our_train.setup(args, cfg, folder=None, created=False)


def evaluate(model_dir: str, batches: dict, tag: str) -> dict:
    """Base and new accuracies of the checkpoint in `model_dir`, through `--eval-only`."""
    accuracies = {}
    for subsample in ("base", "new"):
        evaluator = build(subsample, f"{SPEC['output_dir']}_eval_{tag}_{subsample}", model_dir)
        accuracies[subsample] = test_on(evaluator, batches[f"test_{subsample}"])
    return accuracies


def main() -> None:
    assert BACKEND == SPEC["backend"], (BACKEND, SPEC["backend"])
    _register_backbone()
    batches = torch.load(SPEC["batches_file"])
    trainer = build("base", SPEC["output_dir"])
    classnames = {"base": list(trainer.dm.dataset.classnames)}
    result = train_on(trainer, batches, trainer.model.prompt_learner)
    accuracies = {"base": result.pop("acc_base")}
    evaluator = build("new", SPEC["output_dir"] + "_eval_new", SPEC["output_dir"])
    classnames["new"] = list(evaluator.dm.dataset.classnames)
    accuracies["new"] = test_on(evaluator, batches["test_new"])
    authors = torch.load(SPEC["authors_result"])
    mapped = {when: trainer.convert_foreign_state_dict("prompt_learner", dict(authors[when]))
              for when in ("initial", "final")}
    torch.save({**result, "acc": accuracies, "classnames": classnames, "authors_mapped": mapped,
                "authors_checkpoint_acc": evaluate(SPEC["authors_output_dir"], batches, "authors")},
               SPEC["result_file"])


if __name__ == "__main__":
    main()
