"""train.py against checkpoints that do not fit the command: another trainer, a cut file, another pool,
a stale pointer, and checkpoints of the original repositories. One clear message, nothing written changed."""
from __future__ import annotations

import json
import re
import os
import shutil

import pytest
import torch

from dassl_like import save_dassl_checkpoint
from e2e import BACKENDS, TINY, accuracy, config, run_train, snapshot
from mopd.backend import build_trainer, set_random_seed
from mopd.clip.backbones import get_backbone
from mopd.clip.loading import load_clip
from mopd.engine.checkpoint import load_checkpoint
from mopd.runs.lock import LOCK_FILE
import train

CONFIGS = {
    "CoOp": config("trainers", "CoOp", "vit_b16_ep50_ctxv1.yaml"),
    "CoCoOp": config("trainers", "CoCoOp", "vit_b16_c4_ep10_batch1_ctxv1.yaml"),
    "KgCoOp": config("trainers", "KgCoOp", "vit_b16_ep50_ctxv1.yaml"),
    "MoPD": config("trainers", "MoPD", "vit_b16_ep25_ctxv1.yaml"),
    "MaPLe": config("trainers", "MaPLe", "vit_b16_c2_ep5_batch4_2ctx.yaml"),
    "IVLP": config("trainers", "IVLP", "vit_b16_c2_ep5_batch4_2+2ctx.yaml"),
    "PromptSRC": config("trainers", "PromptSRC", "vit_b16_c2_ep20_batch4_4+4ctx.yaml"),
    "MMRL": config("trainers", "MMRL", "vit_b16.yaml"),
    "MMRLpp": config("trainers", "MMRLpp", "vit_b16.yaml"),
}
AUTHORS_FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "authors_checkpoints")


def _args(data_root: str, trainer: str, out: str, *extra: str, flags: tuple = (), classes: str = "base") -> list[str]:
    return [
        "--root", data_root, "--seed", "1", "--trainer", trainer,
        "--dataset-config-file", config("datasets", "synthetic.yaml"), "--config-file", CONFIGS[trainer],
        "--output-dir", out, *flags, *TINY, "DATASET.NUM_SHOTS", "4", "DATASET.SUBSAMPLE_CLASSES", classes,
        "TRAINER.COOP.PREC", "fp32", "DATALOADER.TRAIN_X.BATCH_SIZE", "4", *extra,
    ]


def _eval_args(data_root: str, trainer: str, model_dir: str, out: str, epoch: int, *extra: str) -> list[str]:
    flags = ("--eval-only", "--model-dir", model_dir, "--load-epoch", str(epoch))
    return _args(data_root, trainer, out, *extra, flags=flags, classes="new")


def _error(args: list[str], cwd: str) -> str:
    """Run train.py, expect exit 2 with one `error:` line and no traceback; return that line."""
    proc = run_train(args, "builtin", cwd, check=False)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("error: "), proc.stderr[-2000:]
    return lines[-1]


def _copy(run: str, tmp_path) -> str:
    copy = str(tmp_path / "run")
    shutil.copytree(run, copy)
    return copy


def _unchanged(before: dict[str, str], run: str) -> None:
    """Every file that existed is byte for byte the same (a failed command may add only its own log).

    The folder's lock file is left out: a command that took the folder writes its pid there.
    """
    before, after = ({path: digest for path, digest in files.items() if path != LOCK_FILE}
                     for files in (before, snapshot(run)))
    assert {path: after.get(path) for path in before} == before
    assert all(path.startswith("log.txt") for path in set(after) - set(before)), set(after) - set(before)


@pytest.fixture(scope="module")
def coop_run(data_root, tmp_path_factory) -> str:
    out = str(tmp_path_factory.mktemp("coop") / "run")
    run_train(_args(data_root, "CoOp", out, "OPTIM.MAX_EPOCH", "1"), "builtin", os.path.dirname(out))
    return out


@pytest.fixture(scope="module")
def coop_new_accuracy(data_root, coop_run, tmp_path_factory) -> float:
    """CoOp's evaluation of its own prompt on the new classes."""
    out = str(tmp_path_factory.mktemp("coop_eval") / "eval")
    return accuracy(run_train(_eval_args(data_root, "CoOp", coop_run, out, 1), "builtin", os.path.dirname(out)).stdout)


@pytest.fixture(scope="module")
def mopd_run(data_root, tmp_path_factory) -> str:
    """A MoPD run of two epochs with a checkpoint after each (teacher pool "custom": 12 prompts)."""
    out = str(tmp_path_factory.mktemp("mopd") / "run")
    extra = ("OPTIM.MAX_EPOCH", "2", "TRAIN.CHECKPOINT_FREQ", "1")
    run_train(_args(data_root, "MoPD", out, *extra), "builtin", os.path.dirname(out))
    return out


def test_another_trainers_checkpoint_is_refused_unless_the_crossing_is_asked_for(
    data_root, coop_run, coop_new_accuracy, tmp_path
):
    before = snapshot(coop_run)
    out = str(tmp_path / "mopd_eval")
    error = _error(_eval_args(data_root, "MoPD", coop_run, out, 1), str(tmp_path))
    path = os.path.join(coop_run, "prompt_learner", "model.pth.tar-1")
    assert error.startswith(f'error: cannot load checkpoint "{path}": it does not fit model "prompt_learner"'), error
    assert "trainer: checkpoint 'CoOp', this run 'MoPD'" in error
    assert "It holds trainer CoOp, backbone tiny, 3 classes, n_ctx=4" in error
    assert "add TRAINER.COOP.ACCEPT_CHECKPOINT_OF CoOp" in error
    assert snapshot(coop_run) == before and not os.path.exists(out)

    crossed = run_train(_eval_args(data_root, "MoPD", coop_run, out, 1, "TRAINER.COOP.ACCEPT_CHECKPOINT_OF", "CoOp"),
                        "builtin", str(tmp_path))
    assert accuracy(crossed.stdout) == coop_new_accuracy  # MoPD evaluates the student prompt alone, as CoOp does


def test_truncated_checkpoint_is_named_and_left_as_it_is(data_root, coop_run, tmp_path):
    run = _copy(coop_run, tmp_path)
    path = os.path.join(run, "prompt_learner", "model.pth.tar-1")
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: len(data) * 6 // 10])
    before = snapshot(run)
    error = _error(_eval_args(data_root, "CoOp", run, str(tmp_path / "eval"), 1), str(tmp_path))
    assert error.startswith(f'error: cannot load checkpoint "{path}": it is corrupt or truncated'), error
    assert snapshot(run) == before


def test_resuming_with_another_teacher_pool_size_names_the_difference(data_root, mopd_run, tmp_path):
    run = _copy(mopd_run, tmp_path)
    before = snapshot(run)
    extra = ("OPTIM.MAX_EPOCH", "3", "TRAINER.MOPD.POOL", "imagenet80")
    refused = _error(_args(data_root, "MoPD", run, *extra), str(tmp_path))
    assert 'TRAINER.MOPD.POOL "custom" -> "imagenet80"' in refused  # the run's settings record speaks first
    error = _error(_args(data_root, "MoPD", run, *extra, flags=("--allow-settings-change",)), str(tmp_path))
    path = os.path.join(run, "prompt_learner", "model.pth.tar-2")
    assert error.startswith(f'error: cannot resume from checkpoint "{path}"'), error
    assert "(pool_size: checkpoint 12, this run 80)" in error
    assert "size mismatch" not in error
    _unchanged(before, run)


def test_deleted_last_checkpoint_names_the_stale_pointer_and_the_advice_works(data_root, mopd_run, tmp_path):
    run = _copy(mopd_run, tmp_path)
    os.remove(os.path.join(run, "prompt_learner", "model.pth.tar-2"))
    os.remove(os.path.join(run, "run_finished.json"))  # as after a crash in the last epoch
    before = snapshot(run)
    args = _args(data_root, "MoPD", run, "OPTIM.MAX_EPOCH", "2", "TRAIN.CHECKPOINT_FREQ", "1")
    error = _error(args, str(tmp_path))
    pointer = os.path.join(run, "prompt_learner", "checkpoint")
    assert f"the pointer file {pointer} names model.pth.tar-2, which does not exist" in error
    assert f"write one of ['model.pth.tar-1'] into {pointer}" in error and f"delete {pointer}" in error
    assert "--resume" not in error and "--model-dir" not in error
    _unchanged(before, run)

    with open(pointer, "w") as f:
        f.write("model.pth.tar-1\n")
    resumed = run_train(args, "builtin", str(tmp_path))
    assert "will resume training" in resumed.stdout
    assert os.path.isfile(os.path.join(run, "prompt_learner", "model.pth.tar-2"))


TINY_CLIP = get_backbone("tiny").architecture


def _class_buffers(n_classes: int, n_ctx: int = 4) -> dict[str, torch.Tensor]:
    """The token buffers the original repositories save (for the classes they were trained on)."""
    width, length = TINY_CLIP.transformer_width, TINY_CLIP.context_length
    return {"token_prefix": torch.randn(n_classes, 1, width),
            "token_suffix": torch.randn(n_classes, length - 1 - n_ctx, width)}


def _saved(run: str, epoch: int) -> dict[str, torch.Tensor]:
    return torch.load(os.path.join(run, "prompt_learner", f"model.pth.tar-{epoch}"), weights_only=True)["state_dict"]


def _write_foreign(model_dir: str, state_dict: dict[str, torch.Tensor], epoch: int) -> None:
    os.makedirs(os.path.join(model_dir, "prompt_learner"))
    save_dassl_checkpoint(os.path.join(model_dir, "prompt_learner", f"model.pth.tar-{epoch}"), state_dict, epoch)


@pytest.mark.parametrize("backend", BACKENDS)
def test_original_coop_checkpoint_with_dassl_scheduler_objects_evaluates_like_ours(
    backend, data_root, coop_run, coop_new_accuracy, tmp_path
):
    ctx = _saved(coop_run, 1)["ctx"]
    foreign = str(tmp_path / "original_coop")
    _write_foreign(foreign, {"ctx": ctx, **_class_buffers(3)}, epoch=1)
    proc = run_train(_eval_args(data_root, "CoOp", foreign, str(tmp_path / "eval"), 1), backend, str(tmp_path))
    assert "read as inert placeholders" in proc.stdout and "torch.optim.lr_scheduler.CosineAnnealingLR" in proc.stdout
    assert "Ignoring class-name buffers ['token_prefix', 'token_suffix']" in proc.stdout
    assert accuracy(proc.stdout) == coop_new_accuracy


def test_kgcoop_and_mopd_authors_checkpoints_evaluate_with_their_keys_mapped(
    data_root, coop_run, coop_new_accuracy, mopd_run, tmp_path
):
    ctx = _saved(coop_run, 1)["ctx"]
    kgcoop = str(tmp_path / "kgcoop")
    # The authors' code builds these with a literal 512, whatever the backbone.
    untrained = {"bias_vectors": torch.randn(1, 512), "meta_net.linear1.weight": torch.randn(512, 512),
                 "meta_net.linear1.bias": torch.randn(512)}
    _write_foreign(kgcoop, {"ctx": ctx, **untrained, **_class_buffers(3)}, epoch=1)
    proc = run_train(_eval_args(data_root, "KgCoOp", kgcoop, str(tmp_path / "kg_eval"), 1), "builtin", str(tmp_path))
    assert "untrained and unused by KgCoOp's inference" in proc.stdout
    assert accuracy(proc.stdout) == coop_new_accuracy

    ours = _saved(mopd_run, 2)
    authors = str(tmp_path / "mopd_tmm")
    _write_foreign(authors, {"ctx": ours["ctx"], "gate": ours["gate.weight"], **_class_buffers(3)}, epoch=2)
    results = {
        name: run_train(_eval_args(data_root, "MoPD", model_dir, str(tmp_path / f"{name}_eval"), 2), "builtin",
                        str(tmp_path))
        for name, model_dir in (("ours", mopd_run), ("authors", authors))
    }
    assert "Not loading the gate" not in results["authors"].stdout  # `gate` was read as gate.weight
    assert accuracy(results["authors"].stdout) == accuracy(results["ours"].stdout)


def test_original_cocoop_checkpoint_evaluates_like_the_same_weights_in_our_layout(data_root, coop_run, tmp_path):
    torch.manual_seed(0)
    width, hidden = TINY_CLIP.transformer_width, TINY_CLIP.embed_dim // 16  # CoCoOp's meta-net: D -> D // 16 -> W
    learned = {
        "ctx": _saved(coop_run, 1)["ctx"],
        "meta_net.linear1.weight": torch.randn(hidden, TINY_CLIP.embed_dim),
        "meta_net.linear1.bias": torch.randn(hidden),
        "meta_net.linear2.weight": torch.randn(width, hidden), "meta_net.linear2.bias": torch.randn(width),
    }
    original = str(tmp_path / "original_cocoop")
    _write_foreign(original, {**learned, **_class_buffers(3)}, epoch=1)
    plain = str(tmp_path / "plain")
    os.makedirs(os.path.join(plain, "prompt_learner"))
    torch.save({"state_dict": learned, "epoch": 1}, os.path.join(plain, "prompt_learner", "model.pth.tar-1"))
    results = [
        accuracy(run_train(_eval_args(data_root, "CoCoOp", model_dir, str(tmp_path / f"eval{i}"), 1), "builtin",
                           str(tmp_path)).stdout)
        for i, model_dir in enumerate((original, plain))
    ]
    assert results[0] == results[1]


def _authors_fixture(method: str) -> tuple[str, dict, list[str]]:
    """The authors' run folder of `method`, what made it, and the overrides that evaluate it as they did."""
    folder = os.path.join(AUTHORS_FIXTURES, method.lower())
    with open(os.path.join(folder, "expected.json")) as f:
        expected = json.load(f)
    settings = expected["settings"]
    assert (settings["seed"], settings["num_shots"], settings["method"]) == (1, 4, method)  # as `_args` sets them
    node = method.upper()
    opts = [item for key, value in {**settings["depths"], **settings.get("method_opts", {})}.items()
            for item in (f"TRAINER.{node}.{key}", str(value))]
    return folder, expected, [*opts, "TRAINER.COOP.PREC", settings["eval_prec"], "OPTIM.MAX_EPOCH", str(settings["epochs"])]


@pytest.mark.parametrize("backend", BACKENDS)
def test_authors_ivlp_run_folder_evaluates_to_their_accuracy_and_as_the_same_prompts_in_our_layout(
    backend, data_root, tmp_path
):
    folder, expected, extra = _authors_fixture("IVLP")
    epoch = expected["settings"]["epochs"]
    flags = ("--eval-only", "--model-dir", folder, "--load-epoch", str(epoch))
    for classes in ("base", "new"):
        out = str(tmp_path / f"eval_{classes}")
        proc = run_train(_args(data_root, "IVLP", out, *extra, flags=flags, classes=classes), backend, str(tmp_path))
        assert "read as inert placeholders" in proc.stdout and "frozen CLIP weights of the checkpoint" in proc.stdout
        assert accuracy(proc.stdout) == pytest.approx(expected["authors_evaluation"][classes]["accuracy"], abs=1e-9)

    theirs = load_checkpoint(os.path.join(folder, expected["checkpoint"]))["state_dict"]
    ours = {"ctx": theirs["prompt_learner.ctx"], "visual_prompt": theirs["image_encoder.VPT"],
            "visual_deep_prompts.0": theirs["image_encoder.transformer.resblocks.1.VPT_shallow"],
            "text_deep_prompts.0": theirs["text_encoder.transformer.resblocks.1.VPT_shallow"]}
    plain = str(tmp_path / "plain")
    os.makedirs(os.path.join(plain, "prompt_learner"))
    torch.save({"state_dict": ours, "epoch": epoch}, os.path.join(plain, "prompt_learner", f"model.pth.tar-{epoch}"))
    proc = run_train(_eval_args(data_root, "IVLP", plain, str(tmp_path / "plain_eval"), epoch, *extra), backend,
                     str(tmp_path))
    assert accuracy(proc.stdout) == pytest.approx(expected["authors_evaluation"]["new"]["accuracy"], abs=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
def test_authors_promptsrc_run_folder_evaluates_to_their_accuracy_on_their_gpa_rounded_frozen_weights(
    backend, data_root, tmp_path
):
    folder, expected, extra = _authors_fixture("PromptSRC")
    flags = ("--eval-only", "--model-dir", folder, "--load-epoch", str(expected["settings"]["epochs"]))
    for classes in ("base", "new"):
        out = str(tmp_path / f"eval_{classes}")
        proc = run_train(_args(data_root, "PromptSRC", out, *extra, flags=flags, classes=classes), backend,
                         str(tmp_path))
        # their image teacher and frozen weights are this run's CLIP as their GPA rounds it (in fp16), and replace it
        assert re.search(r"GPA: the \d+ frozen CLIP weights of the checkpoint .* replace this run's", proc.stdout)
        assert accuracy(proc.stdout) == pytest.approx(expected["authors_evaluation"][classes]["accuracy"], abs=1e-9)


def test_authors_promptsrc_checkpoint_of_another_clip_is_refused(data_root, tmp_path):
    folder, expected, extra = _authors_fixture("PromptSRC")
    flags = ("--eval-only", "--model-dir", folder, "--load-epoch", str(expected["settings"]["epochs"]))
    proc = run_train(_args(data_root, "PromptSRC", str(tmp_path / "eval"), *extra, "MODEL.BACKBONE.NAME", "tiny12",
                           flags=flags), "builtin", str(tmp_path), check=False)
    assert proc.returncode != 0 and "trained on other CLIP weights" in proc.stderr


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", ["MMRL", "MMRLpp"])
def test_authors_mmrl_run_folder_evaluates_to_their_accuracy_with_the_branch_of_each_subsample(
    method, backend, data_root, tmp_path
):
    """Their whole CustomCLIP (fp32 under their amp): the learner, what the image tower learns (`proj_rep`, MMRL++'s
    A and B), the class prompts and frozen CLIP; base classes are scored by the fused logits, new ones by the
    class token's alone (TASK B2N), as their `test` does."""
    folder, expected, extra = _authors_fixture(method)
    flags = ("--eval-only", "--model-dir", folder, "--load-epoch", str(expected["settings"]["epochs"]))
    for classes in ("base", "new"):
        proc = run_train(_args(data_root, method, str(tmp_path / f"eval_{classes}"), *extra, flags=flags,
                               classes=classes), backend, str(tmp_path))
        assert re.search(r"Dropped \d+ frozen CLIP weights of the checkpoint \(checked against this run's CLIP\)",
                         proc.stdout), proc.stdout[-3000:]
        assert accuracy(proc.stdout) == pytest.approx(expected["authors_evaluation"][classes]["accuracy"], abs=1e-9)


@pytest.mark.parametrize("method", ["IVLP", "PromptSRC", "MMRL", "MMRLpp"])
def test_authors_checkpoints_predict_what_their_code_predicted_for_every_test_image(method, data_root, tmp_path):
    """Finer than the accuracy: the class of each test image, in the loaders' order, as their --eval-only chose it."""
    folder, expected, extra = _authors_fixture(method)
    for classes in ("base", "new"):
        args = train.parse_args(_args(data_root, method, str(tmp_path / classes), *extra, classes=classes, flags=(
            "--eval-only", "--model-dir", folder, "--load-epoch", str(expected["settings"]["epochs"]))))
        cfg = train.checked_cfg(args)
        set_random_seed(cfg.SEED)
        trainer = build_trainer(cfg)
        trainer.load_model(args.model_dir, epoch=args.load_epoch)
        trainer.test()
        assert trainer.evaluator._y_pred == expected["authors_evaluation"][classes]["predictions"]


def _authors_maple_layout(learner: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """What the authors' MaPLe saves: its whole CustomCLIP (prompts, class-name buffers, frozen CLIP but the token embedding)."""
    towers = {"visual.": "image_encoder.", "transformer.": "text_encoder.transformer.",
              "positional_embedding": "text_encoder.positional_embedding", "ln_final.": "text_encoder.ln_final.",
              "text_projection": "text_encoder.text_projection", "logit_scale": "logit_scale"}
    frozen = {theirs + key[len(ours):]: value for key, value in load_clip("tiny").state_dict().items()
              for ours, theirs in towers.items() if key.startswith(ours)}
    prompts = {**learner, **_class_buffers(3, n_ctx=2)}
    return {**{f"prompt_learner.{key}": value for key, value in prompts.items()}, **frozen}


@pytest.fixture(scope="module")
def maple_runs(data_root, tmp_path_factory) -> tuple[str, str]:
    """A MaPLe run of ours, and its prompts in a run folder laid out as the authors' code writes it."""
    out = str(tmp_path_factory.mktemp("maple") / "run")
    run_train(_args(data_root, "MaPLe", out, "OPTIM.MAX_EPOCH", "1", "TRAINER.MAPLE.PROMPT_DEPTH", "2"), "builtin",
              os.path.dirname(out))
    authors = str(tmp_path_factory.mktemp("maple_authors") / "run")
    os.makedirs(os.path.join(authors, "MultiModalPromptLearner"))
    save_dassl_checkpoint(os.path.join(authors, "MultiModalPromptLearner", "model.pth.tar-1"),
                          _authors_maple_layout(_saved(out, 1)), epoch=1)
    return out, authors


def test_authors_maple_run_folder_evaluates_like_the_same_prompts_in_our_layout(data_root, maple_runs, tmp_path):
    results = {}
    for name, run in zip(("ours", "authors"), maple_runs):
        proc = run_train(_eval_args(data_root, "MaPLe", run, str(tmp_path / name), 1, "TRAINER.MAPLE.PROMPT_DEPTH", "2"),
                         "builtin", str(tmp_path))
        results[name] = accuracy(proc.stdout)
    assert "frozen CLIP weights of the checkpoint (checked against this run's CLIP)" in proc.stdout
    assert results["authors"] == results["ours"]


@pytest.mark.parametrize("change, message", [
    ("other_clip", "its frozen CLIP weights differ from this run's CLIP (1 of 61 tensors, e.g. text_encoder.ln_final.bias"),
    ("unknown_key", "it holds ['prompt_learner_extra.weight'] (1 in all), which are neither prompts of "
                    "MultiModalPromptLearner nor frozen CLIP weights"),
])
def test_authors_checkpoint_of_other_clip_weights_or_unknown_tensors_is_refused(
    data_root, maple_runs, tmp_path, change, message
):
    run = _copy(maple_runs[1], tmp_path)
    path = os.path.join(run, "MultiModalPromptLearner", "model.pth.tar-1")
    state_dict = _authors_maple_layout(_saved(maple_runs[0], 1))
    if change == "other_clip":
        state_dict["text_encoder.ln_final.bias"] = state_dict["text_encoder.ln_final.bias"] + 1
    else:
        state_dict["prompt_learner_extra.weight"] = torch.zeros(2)
    save_dassl_checkpoint(path, state_dict, epoch=1)
    before = snapshot(run)
    error = _error(_eval_args(data_root, "MaPLe", run, str(tmp_path / "eval"), 1, "TRAINER.MAPLE.PROMPT_DEPTH", "2"),
                   str(tmp_path))
    assert error.startswith(f'error: cannot load checkpoint "{path}" into model "prompt_learner": {message}'), error
    assert snapshot(run) == before


def _poison(checkpoint: str, key: str = "ctx") -> None:
    """Put NaN into one learned tensor of a checkpoint, as a diverged run leaves it."""
    state = torch.load(checkpoint, weights_only=True)
    state["state_dict"][key] = torch.full_like(state["state_dict"][key], float("nan"))
    torch.save(state, checkpoint)


def test_resuming_from_a_nonfinite_checkpoint_names_it_and_the_last_finite_one(data_root, mopd_run, tmp_path):
    run = _copy(mopd_run, tmp_path)
    os.remove(os.path.join(run, "run_finished.json"))  # as after a crash in the last epoch
    last = os.path.join(run, "prompt_learner", "model.pth.tar-2")
    _poison(last)
    before = snapshot(run)
    args = _args(data_root, "MoPD", run, "OPTIM.MAX_EPOCH", "2", "TRAIN.CHECKPOINT_FREQ", "1")
    error = _error(args, str(tmp_path))
    pointer = os.path.join(run, "prompt_learner", "checkpoint")
    assert error.startswith(f"error: the checkpoint {last} holds non-finite learned parameters: ctx ("), error
    assert f"the last checkpoint with finite parameters is {os.path.join(run, 'prompt_learner', 'model.pth.tar-1')}" in error
    assert f"write model.pth.tar-1 into {pointer}" in error
    _unchanged(before, run)
    assert not os.path.exists(os.path.join(run, "run_finished.json"))

    with open(pointer, "w") as f:
        f.write("model.pth.tar-1\n")
    resumed = run_train(args, "builtin", str(tmp_path))
    assert "will resume training" in resumed.stdout
    assert torch.isfinite(_saved(run, 2)["ctx"]).all()
    assert os.path.isfile(os.path.join(run, "run_finished.json"))


def test_evaluating_a_nonfinite_checkpoint_prints_no_accuracy_and_names_the_epoch_to_evaluate(
    data_root, mopd_run, tmp_path
):
    run = _copy(mopd_run, tmp_path)
    _poison(os.path.join(run, "prompt_learner", "model.pth.tar-2"), key="gate.weight")
    out = str(tmp_path / "eval")
    proc = run_train(_eval_args(data_root, "MoPD", run, out, 2), "builtin", str(tmp_path), check=False)
    assert proc.returncode == 2 and "* accuracy" not in proc.stdout
    error = proc.stderr.strip().splitlines()[-1]
    assert "model.pth.tar-2 holds non-finite learned parameters: gate.weight (" in error, error
    assert "evaluate it with --load-epoch 1" in error


def test_a_run_whose_every_step_of_an_epoch_is_nonfinite_stops_even_with_one_batch_per_epoch(data_root, tmp_path):
    out = str(tmp_path / "run")
    one_batch = ("DATALOADER.TRAIN_X.BATCH_SIZE", "12")  # 3 base classes x 4 shots: one batch per epoch
    diverging = ("OPTIM.LR", "1e30", "OPTIM.WARMUP_EPOCH", "0", "OPTIM.MAX_EPOCH", "3", "TRAIN.CHECKPOINT_FREQ", "1")
    proc = run_train(_args(data_root, "CoOp", out, *one_batch, *diverging), "builtin", str(tmp_path), check=False)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: every one of the 1 steps of epoch 2 had a NaN or infinite loss, so nothing was learned; "
        "lower OPTIM.LR, or train with TRAINER.COOP.PREC fp32 or amp")
    assert "* accuracy" not in proc.stdout
    assert not os.path.exists(os.path.join(out, "run_finished.json"))
    assert os.path.isfile(os.path.join(out, "prompt_learner", "model.pth.tar-1"))


def test_training_from_nonfinite_initial_weights_stops_at_the_first_step_and_says_so(data_root, tmp_path):
    init = str(tmp_path / "init.pth")
    out = str(tmp_path / "run")
    run_train(_args(data_root, "CoOp", str(tmp_path / "seed_run"), "OPTIM.MAX_EPOCH", "1"), "builtin", str(tmp_path))
    weights = _saved(str(tmp_path / "seed_run"), 1)
    weights["ctx"][0, 0] = float("inf")
    torch.save(weights, init)
    proc = run_train(_args(data_root, "CoOp", out, "OPTIM.MAX_EPOCH", "2", "MODEL.INIT_WEIGHTS", init), "builtin",
                     str(tmp_path), check=False)
    assert proc.returncode == 2 and "* accuracy" not in proc.stdout
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "error: the learned parameters of prompt_learner are NaN or infinite at epoch 1 batch 1: ctx (1 value); "
        "no earlier checkpoint there has finite parameters"), proc.stderr[-2000:]
    assert not os.path.exists(os.path.join(out, "run_finished.json"))
