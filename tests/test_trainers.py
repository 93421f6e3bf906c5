"""In-process behaviour of the trainers that train.py relies on: evaluation caching, checkpoints, tolerances."""
from __future__ import annotations

import logging

import clip
import pytest
import torch

import datasets  # noqa: F401  (registers the datasets)
import trainers  # noqa: F401  (registers the trainers)
from e2e import TINY, config
from mopd.backend import build_trainer
from mopd.config.defaults import get_cfg
from mopd.data.synthetic import generate_synthetic_dataset


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("data")
    generate_synthetic_dataset(str(root), num_classes=6, train_per_class=8, val_per_class=2, test_per_class=6)
    return str(root)


def _trainer(data_root: str, out: str, trainer: str, cfg_file: str, *opts: str):
    cfg = get_cfg()
    cfg.merge_from_file(config("datasets", "synthetic.yaml"))
    cfg.merge_from_file(config("trainers", *cfg_file.split("/")))
    cfg.merge_from_list([
        "DATASET.ROOT", data_root, "OUTPUT_DIR", out, "SEED", 1, "TRAINER.NAME", trainer, *TINY,
        "DATASET.NUM_SHOTS", 4, "OPTIM.MAX_EPOCH", 1, "DATALOADER.TEST.BATCH_SIZE", 4, *opts,
    ])
    cfg.freeze()
    return build_trainer(cfg)


def test_evaluation_encodes_class_prompts_once_per_test_run(data_root, tmp_path):
    trainer = _trainer(str(data_root), str(tmp_path), "CoOp", "CoOp/vit_b16_ep50_ctxv1.yaml")
    calls = []
    trainer.model.text_encoder.register_forward_hook(lambda *args: calls.append(1))
    trainer.test()
    assert len(trainer.test_loader) == 9  # 36 test images in batches of 4
    assert len(calls) == 1


def test_cached_evaluation_gives_the_same_predictions_as_re_encoding_every_batch(data_root, tmp_path):
    trainer = _trainer(str(data_root), str(tmp_path), "CoOp", "CoOp/vit_b16_ep50_ctxv1.yaml", "TRAINER.COOP.PREC", "fp32")
    trainer.set_model_mode("eval")
    batch = next(iter(trainer.test_loader))
    image = batch["img"].to(trainer.device)
    with torch.no_grad():
        naive = trainer.model(image).logits
        cached = trainer.model(image, trainer.model.encode_classes()).logits
    torch.testing.assert_close(cached, naive, rtol=0, atol=0)


def test_mopd_checkpoint_round_trip_restores_context_and_gate(data_root, tmp_path):
    out = str(tmp_path / "run")
    opts = ("TRAINER.COOP.PREC", "fp32", "OPTIM.MAX_EPOCH", 2)  # past the 1e-5 warm-up epoch
    trained = _trainer(str(data_root), out, "MoPD", "MoPD/vit_b16_ep25_ctxv1.yaml", *opts, "TEST.NO_TEST", True)
    trained.train()
    learner = trained.model.prompt_learner
    assert learner.gate.weight.abs().sum() > 0  # the gate learned something
    fresh = _trainer(str(data_root), str(tmp_path / "eval"), "MoPD", "MoPD/vit_b16_ep25_ctxv1.yaml", *opts)
    fresh.load_model(out, epoch=2)
    torch.testing.assert_close(fresh.model.prompt_learner.ctx, learner.ctx)
    torch.testing.assert_close(fresh.model.prompt_learner.gate.weight, learner.gate.weight)
    assert set(learner.state_dict()) == {"ctx", "gate.weight"}  # no teacher bank, no class-name buffers


def test_mopd_evaluates_a_checkpoint_whose_gate_has_another_pool_size(data_root, tmp_path, caplog):
    out = str(tmp_path / "run")
    _trainer(str(data_root), out, "MoPD", "MoPD/vit_b16_ep25_ctxv1.yaml", "TEST.NO_TEST", True).train()
    other = _trainer(str(data_root), str(tmp_path / "eval"), "MoPD", "MoPD/vit_b16_ep25_ctxv1.yaml",
                     "TRAINER.MOPD.POOL", "imagenet80", "DATASET.SUBSAMPLE_CLASSES", "new")
    assert other.model.prompt_learner.gate.weight.shape[1] == 80
    with caplog.at_level(logging.INFO):
        other.load_model(out, epoch=1)
    assert "Not loading the gate (checkpoint: (64, 12), this run: (64, 80))" in caplog.text
    assert not hasattr(other, "teacher_bank")  # evaluation never builds the teacher bank
    assert 0.0 <= other.test() <= 100.0


def test_coop_loads_original_coop_checkpoints_with_class_name_buffers(data_root, tmp_path, caplog):
    out = str(tmp_path / "run")
    trained = _trainer(str(data_root), out, "CoOp", "CoOp/vit_b16_ep50_ctxv1.yaml", "TEST.NO_TEST", True)
    trained.train()
    path = tmp_path / "run" / "prompt_learner" / "model.pth.tar-1"
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["state_dict"]["token_prefix"] = torch.zeros(3, 1, 8)  # as CoOp's own checkpoints carry
    del checkpoint["meta"]  # which record nothing about what wrote them
    torch.save(checkpoint, path)
    fresh = _trainer(str(data_root), str(tmp_path / "eval"), "CoOp", "CoOp/vit_b16_ep50_ctxv1.yaml",
                     "DATASET.SUBSAMPLE_CLASSES", "new")
    with caplog.at_level(logging.INFO):
        fresh.load_model(out, epoch=1)
    assert "Ignoring class-name buffers ['token_prefix']" in caplog.text
    torch.testing.assert_close(fresh.model.prompt_learner.ctx, trained.model.prompt_learner.ctx)


def test_checkpoint_of_another_context_length_is_rejected_with_a_clear_error(data_root, tmp_path):
    out = str(tmp_path / "run")
    _trainer(str(data_root), out, "CoOp", "CoOp/vit_b16_ep50.yaml", "TRAINER.COOP.N_CTX", 4, "TEST.NO_TEST", True).train()
    other = _trainer(str(data_root), str(tmp_path / "eval"), "CoOp", "CoOp/vit_b16_ep50.yaml", "TRAINER.COOP.N_CTX", 8)
    with pytest.raises(ValueError, match="does not fit model"):
        other.load_model(out, epoch=1)


def test_a_non_finite_loss_skips_the_update_and_training_goes_on(data_root, tmp_path, caplog):
    trainer = _trainer(str(data_root), str(tmp_path), "CoOp", "CoOp/vit_b16_ep50_ctxv1.yaml",
                       "TRAINER.COOP.PREC", "amp", "DATALOADER.TRAIN_X.BATCH_SIZE", 4, "TEST.NO_TEST", True)
    compute_losses = trainer.compute_losses
    calls = []

    def nan_on_first_batch(output, label):
        losses = compute_losses(output, label)
        calls.append(1)
        return {"loss": losses["loss"] * float("nan")} if len(calls) == 1 else losses

    trainer.compute_losses = nan_on_first_batch
    ctx_before = trainer.model.prompt_learner.ctx.detach().clone()
    trainer.batch_idx, trainer.num_batches, trainer.epoch = 0, 3, 0
    trainer.before_epoch()
    batches = iter(trainer.train_loader_x)
    with caplog.at_level(logging.WARNING):
        trainer.forward_backward(next(batches))
    assert "Non-finite loss (nan) at epoch 1 batch 1: update skipped" in caplog.text
    assert torch.equal(trainer.model.prompt_learner.ctx, ctx_before)
    trainer.batch_idx = 1
    trainer.forward_backward(next(batches))
    assert not torch.equal(trainer.model.prompt_learner.ctx, ctx_before)
    assert torch.isfinite(trainer.model.prompt_learner.ctx).all()


def test_prograd_published_config_starts_from_zeros_then_its_template_words(data_root, tmp_path):
    trainer = _trainer(str(data_root), str(tmp_path), "ProGrad", "ProGrad/rn50_ep50.yaml", "TRAINER.COOP.PREC", "fp32")
    learner = trainer.model.prompt_learner
    clip_model = trainer.model.text_encoder
    words = clip.tokenize("a photo of a")[:, 1:5].to(trainer.device)  # the synthetic dataset's template words
    ctx = learner.ctx.detach()
    assert ctx.shape[0] == 16
    assert torch.equal(ctx[:12], torch.zeros_like(ctx[:12]))
    assert torch.equal(ctx[12:], clip_model.token_embedding(words)[0].float())
    assert learner.prompt_prefix == "X " * 12 + "a photo of a"


def test_prograd_rejects_init_words_beside_its_template_init(data_root, tmp_path):
    with pytest.raises(ValueError, match="INIT_FROM_TEMPLATE True .*COOP.CTX_INIT='a photo of a' asks for other words"):
        _trainer(str(data_root), str(tmp_path), "ProGrad", "ProGrad/rn50_ep50.yaml",
                 "TRAINER.COOP.CTX_INIT", "a photo of a")


def test_prograd_and_kgcoop_use_their_own_template_tables_and_coop_family_coops():
    from types import SimpleNamespace

    from trainers.coop import CoOp
    from trainers.kgcoop import KgCoOp
    from trainers.prograd import ProGrad
    from trainers.zsclip import ZeroshotCLIP

    pets = SimpleNamespace(cfg=SimpleNamespace(DATASET=SimpleNamespace(NAME="OxfordPets")))
    dtd = SimpleNamespace(cfg=SimpleNamespace(DATASET=SimpleNamespace(NAME="DescribableTextures")))
    assert ProGrad.hand_crafted_template(pets) == "a type of pet, a photo of a {}."
    assert CoOp.hand_crafted_template(pets) == "a photo of a {}, a type of pet."
    assert KgCoOp.hand_crafted_template(dtd) == "a photo of a {}, a type of texture."
    assert ZeroshotCLIP.hand_crafted_template(dtd) == CoOp.hand_crafted_template(dtd) == "{} texture."
