"""The MMRL and MMRL++ trainers: their loss parts through train.py, frozen CLIP's features, the branch each protocol
evaluates, and the authors' checkpoint layouts."""
from __future__ import annotations

import os
import re

import clip
import pytest
import torch
import torch.nn.functional as F

import datasets  # noqa: F401  (registers the datasets)
import trainers  # noqa: F401  (registers the trainers)
from e2e import BACKENDS, accuracy, config, run_train
from mopd.backend import build_trainer, set_random_seed
from mopd.clip.backbones import TINY_DEEP
from mopd.clip.loading import load_clip
from mopd.config.defaults import get_cfg

DEEP_TINY = ["MODEL.BACKBONE.NAME", "tiny12", "INPUT.SIZE", "(32, 32)", "DATALOADER.NUM_WORKERS", "0"]
NODES = {"MMRL": "MMRL", "MMRLpp": "MMRLPP"}  # trainer -> its config node
# What the authors' CLIP learns, by our learner's name (the rest of their learner keeps our names)
AUTHORS_CLIP_KEYS = {"MMRL": {"proj_rep": "image_encoder.proj_rep"},
                     "MMRLpp": {"proj_rep_A": "image_encoder.A", "proj_rep_B": "image_encoder.B"}}


def _args(data_root: str, out: str, *extra: str, subsample: str = "base", model_dir: str = "",
          trainer: str = "MMRL") -> list[str]:
    flags = ["--eval-only", "--model-dir", model_dir, "--load-epoch", "2"] if model_dir else []
    return ["--root", data_root, "--seed", "1", "--trainer", trainer, "--config-file",
            config("trainers", trainer, "vit_b16.yaml"), "--dataset-config-file",
            config("datasets", "synthetic.yaml"), "--output-dir", out, *flags, *DEEP_TINY, "DATASET.NUM_SHOTS", "4",
            "DATASET.SUBSAMPLE_CLASSES", subsample, "TRAINER.COOP.PREC", "fp32", "OPTIM.MAX_EPOCH", "2", *extra]


def _trainer(data_root: str, out: str, *opts, trainer: str = "MMRL"):
    cfg = get_cfg()
    cfg.merge_from_file(config("datasets", "synthetic.yaml"))
    cfg.merge_from_file(config("trainers", trainer, "vit_b16.yaml"))
    cfg.merge_from_list(["DATASET.ROOT", data_root, "OUTPUT_DIR", out, "SEED", 1, "TRAINER.NAME", trainer, *DEEP_TINY,
                         "DATASET.NUM_SHOTS", 4, "TRAINER.COOP.PREC", "fp32", *opts])
    cfg.freeze()
    set_random_seed(cfg.SEED)
    return build_trainer(cfg)


@pytest.mark.parametrize("backend, trainer", [
    ("builtin", "MMRL"), pytest.param("dassl", "MMRL", marks=BACKENDS[1].marks), ("builtin", "MMRLpp")])
def test_logged_loss_is_the_sum_of_its_weighted_parts(backend, trainer, data_root, tmp_path):
    proc = run_train(_args(data_root, str(tmp_path / "run"), f"TRAINER.{NODES[trainer]}.REG_WEIGHT", "4.0",
                           trainer=trainer), backend, str(tmp_path))
    means = re.findall(r"epoch \d+ means: (.*)", proc.stdout)
    assert len(means) == 2
    for line in means:
        parts = dict(zip(line.split()[::2], map(float, line.split()[1::2])))
        total = parts["ce_class"] + parts["ce_rep"] + parts["image_reg"] + parts["text_reg"]
        assert parts["loss"] == pytest.approx(total, abs=2e-4)
        assert parts["image_reg"] > 0 and parts["text_reg"] > 0
    assert 0 <= accuracy(proc.stdout) <= 100


def test_frozen_features_are_clips_own_of_the_hand_written_prompts_and_the_batch(data_root, tmp_path):
    trainer = _trainer(data_root, str(tmp_path / "run"))
    trainer.before_train_extra()
    reference = load_clip(TINY_DEEP).float()
    names = [name.replace("_", " ") for name in trainer.dm.dataset.classnames]
    with torch.no_grad():
        text = F.normalize(reference.encode_text(clip.tokenize([f"a photo of a {name}." for name in names])), dim=-1)
        batch = next(iter(trainer.train_loader_x))
        trainer.parse_batch_train(batch)
        image = F.normalize(reference.encode_image(batch["img"]), dim=-1)
    torch.testing.assert_close(trainer.clip_text_features, text, atol=1e-5, rtol=0)
    torch.testing.assert_close(trainer.clip_image_features, image, atol=1e-5, rtol=0)


@pytest.mark.parametrize("task, subsample, branch", [
    ("B2N", "base", "fusion"), ("B2N", "new", "class"), ("FS", "all", "fusion"), ("CD", "all", "class"),
])
def test_evaluation_takes_the_branch_of_its_task(task, subsample, branch, data_root, tmp_path):
    trainer = _trainer(data_root, str(tmp_path / "run"), "TRAINER.MMRL.TASK", task, "DATASET.SUBSAMPLE_CLASSES", subsample)
    trainer.set_model_mode("eval")
    images = next(iter(trainer.test_loader))["img"]
    with torch.no_grad():
        trainer._eval_text_features = trainer.model.encode_classes()
        evaluated = trainer.model_inference(images)  # through the image features, as every evaluation
        output = trainer.model(images)
    expected, other = (output.logits, output.class_logits) if branch == "fusion" else (output.class_logits, output.logits)
    torch.testing.assert_close(evaluated, expected, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(evaluated, other, atol=1e-3)  # the two branches differ, so the choice is seen


@pytest.mark.parametrize("name", ["MMRL", "MMRLpp"])
def test_a_checkpoint_in_the_authors_layout_evaluates_as_ours(name, data_root, tmp_path):
    ours = str(tmp_path / "ours")
    run_train(_args(data_root, ours, trainer=name), "builtin", str(tmp_path))
    trained = torch.load(os.path.join(ours, "prompt_learner", "model.pth.tar-2"), weights_only=True)["state_dict"]
    trainer = _trainer(data_root, str(tmp_path / "scratch"))
    # Their CustomCLIP: the learner's tensors, what CLIP's image tower learns, the class prompts, frozen CLIP.
    clip_keys = AUTHORS_CLIP_KEYS[name]
    state = {clip_keys.get(key, "representation_learner." + key): value for key, value in trained.items()}
    state["prompt_embeddings"] = trainer.model.prompt_learner.prompt_embeddings
    state.update({"image_encoder." + key: value for key, value in trainer.model.image_encoder.visual.state_dict().items()})
    state.update({"text_encoder." + key: value for key, value in trainer.model.text_encoder.state_dict().items()
                  if not key.startswith("token_embedding")})
    theirs = tmp_path / "theirs" / "MultiModalRepresentationLearner"
    theirs.mkdir(parents=True)
    torch.save({"state_dict": state, "epoch": 2, "optimizer": None, "scheduler": None, "val_result": None},
               theirs / "model.pth.tar-2")
    for subsample in ("base", "new"):
        mine = run_train(_args(data_root, str(tmp_path / f"eval_ours_{subsample}"), subsample=subsample, model_dir=ours,
                               trainer=name), "builtin", str(tmp_path))
        authors = run_train(_args(data_root, str(tmp_path / f"eval_theirs_{subsample}"), subsample=subsample,
                                  model_dir=str(tmp_path / "theirs"), trainer=name), "builtin", str(tmp_path))
        assert "Dropped" in authors.stdout and accuracy(authors.stdout) == accuracy(mine.stdout)


def test_mmrlpp_evaluates_its_model_with_the_beta_of_the_evaluation(data_root, tmp_path):
    """The authors' cross-dataset protocol tests the ImageNet model with each target's BETA: not a model setting."""
    ours = str(tmp_path / "ours")
    run_train(_args(data_root, ours, trainer="MMRLpp"), "builtin", str(tmp_path))
    logits = {}
    for beta in ("0.9", "0.3"):
        evaluation = run_train(_args(data_root, str(tmp_path / f"eval_{beta}"), "TRAINER.MMRLPP.BETA", beta,
                                     "TRAINER.MMRLPP.TASK", "CD", subsample="all", model_dir=ours, trainer="MMRLpp"),
                               "builtin", str(tmp_path))
        assert 0 <= accuracy(evaluation.stdout) <= 100
        trainer = _trainer(data_root, str(tmp_path / f"scratch_{beta}"), "TRAINER.MMRLPP.BETA", beta, trainer="MMRLpp")
        trainer.load_model(ours, epoch=2)
        trainer.set_model_mode("eval")
        with torch.no_grad():
            logits[beta] = trainer.model(next(iter(trainer.test_loader))["img"]).class_logits
    assert not torch.allclose(logits["0.9"], logits["0.3"], atol=1e-3)  # BETA reaches both towers at test time


@pytest.mark.parametrize("trainer, override, message", [
    ("MMRL", ("MODEL.BACKBONE.NAME", "tiny"), r"error: TRAINER\.MMRL\.REP_LAYERS=\[6, 7, 8, 9, 10, 11, 12\]: the image "
                                              r"tower has 2 layers"),
    ("MMRL", ("TRAINER.MMRL.TASK", "XD"), r"error: TRAINER\.MMRL\.TASK='XD' is not one of \('B2N', 'FS', 'CD'\)"),
    ("MMRLpp", ("MODEL.BACKBONE.NAME", "tiny"), r"error: TRAINER\.MMRLPP\.REP_LAYERS=\[6, 7, 8, 9, 10, 11, 12\]: the "
                                                r"image tower has 2 layers"),
    ("MMRLpp", ("TRAINER.MMRLPP.BETA", "1.5"), r"error: TRAINER\.MMRLPP\.BETA=1\.5 must be in \[0, 1\]"),
    ("MMRLpp", ("TRAINER.MMRLPP.RES_LORA_DIM", "0"), r"error: TRAINER\.MMRLPP\.RES_LORA_DIM=0 must be >= 1"),
])
def test_a_setting_the_backbone_or_the_protocols_cannot_run_stops_before_anything_is_written(trainer, override, message,
                                                                                            data_root, tmp_path):
    out = tmp_path / "run"
    proc = run_train(_args(data_root, str(out), *override, trainer=trainer), "builtin", str(tmp_path), check=False)
    assert proc.returncode != 0
    assert re.search(message, proc.stderr.strip().splitlines()[-1]), proc.stderr[-2000:]
    assert not out.exists()
