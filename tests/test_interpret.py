"""Tests for mopd.interpret: nearest words of learned context vectors, as CoOp's interpret_prompt.py prints them."""
import os
import re

import clip
import pytest
import torch

from e2e import TINY, config, run_train
from mopd.clip.backbones import TINY as TINY_NAME
from mopd.clip.loading import load_clip
from mopd.engine.checkpoint import save_checkpoint
from mopd.interpret.checkpoints import recorded_backbone, resolve_checkpoint
from mopd.interpret.cli import main
from mopd.interpret.nearest import interpret, nearest_tokens


@pytest.fixture(scope="module")
def token_embedding():
    return load_clip(TINY_NAME).token_embedding.weight.detach().float()


def _token_id(word: str) -> int:
    return int(clip.tokenize(word)[0, 1])  # after <|startoftext|>


def _save_prompt_learner(run_dir, state_dict, epoch=3):
    save_checkpoint({"state_dict": state_dict, "epoch": epoch}, os.path.join(run_dir, "prompt_learner"), model_name="")


def test_nearest_tokens_match_a_loop_over_euclidean_distances():
    torch.manual_seed(0)
    embedding, ctx = torch.randn(40, 8), torch.randn(3, 8)
    ids, distances = nearest_tokens(ctx, embedding, k=4)
    for n in range(3):
        naive = sorted((float((ctx[n] - embedding[v]).pow(2).sum().sqrt()), v) for v in range(40))[:4]
        assert ids[n].tolist() == [v for _, v in naive]
        assert distances[n].tolist() == pytest.approx([d for d, _ in naive], abs=1e-5)


def test_a_context_vector_equal_to_a_words_embedding_has_that_word_first_at_distance_zero(token_embedding):
    words = ["photo", "dog", "texture"]
    ctx = token_embedding[[_token_id(w) for w in words]].clone()  # (3, D)
    rows = interpret(ctx, token_embedding, k=2)
    assert [label for label, _ in rows] == ["1", "2", "3"]
    assert [nearest[0][0] for _, nearest in rows] == words
    assert all(nearest[0][1] == pytest.approx(0.0, abs=1e-3) and nearest[1][1] > 0.05 for _, nearest in rows)


def test_class_specific_context_is_reported_vector_by_vector_per_class(token_embedding):
    ctx = token_embedding[[_token_id(w) for w in ["cat", "dog", "red", "blue"]]].reshape(2, 2, -1)  # (C, M, D)
    rows = interpret(ctx, token_embedding, k=1)
    assert [(label, nearest[0][0]) for label, nearest in rows] == [
        ("class 0, 1", "cat"), ("class 0, 2", "dog"), ("class 1, 1", "red"), ("class 1, 2", "blue")
    ]


def test_a_context_of_another_width_than_the_backbone_is_rejected(token_embedding):
    with pytest.raises(ValueError, match="pass the backbone the prompt was learned on"):
        interpret(torch.zeros(4, token_embedding.shape[1] + 1), token_embedding, k=1)


def test_cli_prints_the_nearest_words_of_a_trained_run_with_the_backbone_its_log_records(data_root, tmp_path, capsys):
    out = str(tmp_path / "run")
    run_train([
        "--root", data_root, "--seed", "1", "--trainer", "MoPD",
        "--dataset-config-file", config("datasets", "synthetic.yaml"),
        "--config-file", config("trainers", "MoPD", "vit_b16_ep25_ctxv1.yaml"), "--output-dir", out,
        *TINY, "OPTIM.MAX_EPOCH", "1", "DATASET.NUM_SHOTS", "2", "TEST.NO_TEST", "True",
    ], "builtin", str(tmp_path))
    assert recorded_backbone(out).name == "tiny"
    assert main([out, "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "prompt_learner/model.pth.tar-1: context 4 x " in lines[0] and "embeddings of tiny" in lines[0]
    assert [line.split(":")[0] for line in lines[1:]] == ["1", "2", "3", "4"]  # "a photo of a": 4 vectors
    assert all(re.fullmatch(r"\d: \S+ \([\d.]+\), \S+ \([\d.]+\)", line) for line in lines[1:]), lines
    # after one warm-up epoch at lr 1e-5 the context is still "a photo of a"
    assert [line.split(": ")[1].split(" (")[0] for line in lines[1:]] == ["a", "photo", "of", "a"]


@pytest.mark.parametrize("trainer, cfg, words", [("MaPLe", "vit_b16_c2_ep5_batch4_2ctx.yaml", ["a", "photo"]),
                                                 ("IVLP", "vit_b16_c2_ep5_batch4_2+2ctx.yaml", ["a", "photo"]),
                                                 ("PromptSRC", "vit_b16_c2_ep20_batch4_4+4ctx.yaml", ["a", "photo", "of", "a"])])
def test_cli_reads_the_text_context_of_a_two_tower_run(data_root, tmp_path, capsys, trainer, cfg, words):
    out = str(tmp_path / "run")
    run_train([
        "--root", data_root, "--seed", "1", "--trainer", trainer,
        "--dataset-config-file", config("datasets", "synthetic.yaml"),
        "--config-file", config("trainers", trainer, cfg), "--output-dir", out,
        *TINY, "MODEL.BACKBONE.NAME", "tiny12", "OPTIM.MAX_EPOCH", "1", "DATASET.NUM_SHOTS", "2", "TEST.NO_TEST", "True",
    ], "builtin", str(tmp_path))
    assert main([out, "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"context {len(words)} x " in lines[0] and "embeddings of tiny12" in lines[0]
    # the learned tokens start as the first words of "a photo of a" (one warm-up epoch at lr 1e-5)
    assert [line.split(": ")[1].split(" (")[0] for line in lines[1:]] == words


def test_cli_takes_the_backbone_from_the_command_line_when_no_log_names_it(tmp_path, capsys, token_embedding):
    _save_prompt_learner(str(tmp_path), {"ctx": token_embedding[[_token_id("dog")]].half()})
    checkpoint = os.path.join(tmp_path, "prompt_learner", "model.pth.tar-3")
    assert resolve_checkpoint(str(tmp_path)) == checkpoint
    with pytest.raises(SystemExit) as exit_info:
        main([checkpoint])
    assert exit_info.value.code == 2
    assert "pass --backbone NAME" in capsys.readouterr().err
    assert main([checkpoint, "1", "--backbone", "tiny"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("1: dog (")


def test_cli_rejects_a_checkpoint_without_a_learned_context(tmp_path, capsys):
    _save_prompt_learner(str(tmp_path), {"weight": torch.zeros(2, 2)})
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path), "--backbone", "tiny"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "holds no learned context 'ctx' (it has: weight)" in err
    assert len(err.splitlines()) == 1


def test_cli_says_why_an_mmrl_checkpoint_has_no_context_to_read(tmp_path, capsys):
    _save_prompt_learner(str(tmp_path), {"compound_rep_tokens": torch.zeros(5, 512), "proj_rep": torch.zeros(64, 128)})
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path), "--backbone", "tiny"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is an MMRL or MMRL++ checkpoint" in err[0] and "no word-embedding context" in err[0]


def test_cli_rejects_a_missing_checkpoint_with_one_error_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main([str(tmp_path / "nope"), "--backbone", "tiny"])
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: checkpoint {str(tmp_path / 'nope')!r} does not exist: pass a checkpoint file or a run folder"
    ]
