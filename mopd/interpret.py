"""`python -m mopd.interpret CHECKPOINT [TOPK]`: the words nearest to each learned context vector.

CoOp's `interpret_prompt.py` for every method here: the learned context `ctx` of a CoOp, CoCoOp,
KgCoOp, ProGrad or MoPD checkpoint, one vector at a time, against every row of CLIP's token
embedding, by Euclidean distance; the TOPK nearest tokens are printed with their distances. For
CoCoOp this is the context before the image's meta-net shift. CHECKPOINT is a checkpoint file
(`<run>/prompt_learner/model.pth.tar-<epoch>`), its model folder or the run folder (the latest
checkpoint). The backbone is the one the run's log records, or `--backbone` (and `--backbone-path`).
"""
from __future__ import annotations

import argparse
import glob
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import yaml
from clip.simple_tokenizer import SimpleTokenizer
from torch import Tensor

from mopd.cli_errors import exit_on_user_error
from mopd.clip.loading import load_clip
from mopd.engine.checkpoint import EPOCH_FILE_PREFIX, LATEST_FILE, load_checkpoint

CONTEXT_KEY = "ctx"  # the learned context in the prompt learner's state_dict: (M, D), or (C, M, D) with CSC
MODEL_FOLDER = "prompt_learner"  # the model name every trainer here registers its learned prompt under
DEFAULT_TOPK = 3
_CONFIG_START = "** Config **"
_CONFIG_END = re.compile(r"^(\*\* System info|Collecting env info)")


@dataclass(frozen=True)
class Backbone:
    """The CLIP a prompt was learned on: `MODEL.BACKBONE.NAME` and `MODEL.BACKBONE.PATH`."""

    name: str
    path: str = ""


def resolve_checkpoint(path: str) -> str:
    """The checkpoint file `path` names: the file itself, or the latest one of a model or run folder."""
    if os.path.isfile(path):
        return path
    if not os.path.isdir(path):
        raise FileNotFoundError(f"checkpoint {path!r} does not exist: pass a checkpoint file or a run folder")
    model_dir = os.path.join(path, MODEL_FOLDER) if os.path.isdir(os.path.join(path, MODEL_FOLDER)) else path
    latest = os.path.join(model_dir, LATEST_FILE)
    if os.path.isfile(latest):
        with open(latest, encoding="utf-8") as f:
            name = f.readline().strip()
        if name and os.path.isfile(os.path.join(model_dir, name)):
            return os.path.join(model_dir, name)
    epochs = [
        (int(match.group(1)), file)
        for file in glob.glob(os.path.join(glob.escape(model_dir), EPOCH_FILE_PREFIX + "*"))
        if (match := re.fullmatch(re.escape(EPOCH_FILE_PREFIX) + r"(\d+)", os.path.basename(file)))
    ]
    if not epochs:
        raise FileNotFoundError(
            f"no checkpoint in {path!r}: expected {MODEL_FOLDER}/{EPOCH_FILE_PREFIX}<epoch> "
            "(pass the checkpoint file or the folder of a training run)"
        )
    return max(epochs)[1]


def context_vectors(checkpoint: dict, source: str) -> Tensor:
    """The learned context of a loaded checkpoint as float32: (M, D), or (C, M, D) for class-specific context."""
    state_dict = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state_dict, dict) or CONTEXT_KEY not in state_dict:
        keys = ", ".join(sorted(state_dict)) if isinstance(state_dict, dict) else type(checkpoint).__name__
        raise ValueError(
            f"{source} holds no learned context {CONTEXT_KEY!r} (it has: {keys}); pass a {MODEL_FOLDER} "
            "checkpoint of CoOp, CoCoOp, KgCoOp, ProGrad or MoPD"
        )
    ctx = state_dict[CONTEXT_KEY]
    if ctx.dim() not in (2, 3):
        raise ValueError(f"{source}: context of shape {tuple(ctx.shape)} is neither (M, D) nor (C, M, D)")
    return ctx.float()


def recorded_backbone(run_dir: str) -> Backbone | None:
    """The backbone in the config dump of the run's log (log.txt, as Dassl and train.py print it), if any."""
    for log in sorted(glob.glob(os.path.join(glob.escape(run_dir), "log.txt*"))):
        with open(log, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
        if _CONFIG_START not in lines:
            continue
        block = []
        for line in lines[lines.index(_CONFIG_START) + 1 :]:
            if _CONFIG_END.match(line):
                break
            if block or not set(line) <= {"*"}:  # skip the line of stars under the heading
                block.append(line)
        try:
            backbone = yaml.safe_load("\n".join(block))["MODEL"]["BACKBONE"]
            return Backbone(str(backbone["NAME"]), str(backbone.get("PATH") or ""))
        except (yaml.YAMLError, TypeError, KeyError):
            continue
    return None


def run_folder_of(checkpoint_file: str) -> str:
    """The run folder of `<run>/<model>/model.pth.tar-N`."""
    return os.path.dirname(os.path.dirname(os.path.abspath(checkpoint_file)))


def nearest_tokens(ctx: Tensor, token_embedding: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """Indices and Euclidean distances of the k token embeddings nearest to each context vector.

    Args:
        ctx: (N, D) context vectors.
        token_embedding: (V, D) CLIP's token embedding.
    Returns:
        (N, k) token ids, nearest first (equal distances: lower id first), and their (N, k) distances.
    """
    distance = torch.cdist(ctx.float(), token_embedding.float())  # (N, V)
    order = torch.sort(distance, dim=1, stable=True).indices[:, :k]  # (N, k)
    return order, distance.gather(1, order)


def token_text(tokenizer: SimpleTokenizer, token_id: int) -> str:
    """A token as text: its characters, without the end-of-word marker."""
    return tokenizer.decode([token_id]).strip()


def interpret(ctx: Tensor, token_embedding: Tensor, k: int) -> list[tuple[str, list[tuple[str, float]]]]:
    """For each context vector, its label ("1", ... or "class 3, 2" for class-specific context) and nearest words."""
    if ctx.shape[-1] != token_embedding.shape[1]:
        raise ValueError(
            f"the context vectors are {ctx.shape[-1]} wide but the backbone's token embeddings are "
            f"{token_embedding.shape[1]}: pass the backbone the prompt was learned on (--backbone)"
        )
    vectors = ctx.reshape(-1, ctx.shape[-1])  # (M, D), or (C * M, D) class by class
    ids, distances = nearest_tokens(vectors, token_embedding, min(k, token_embedding.shape[0]))
    tokenizer = SimpleTokenizer()
    labels = (
        [str(m + 1) for m in range(ctx.shape[0])]
        if ctx.dim() == 2
        else [f"class {c}, {m + 1}" for c in range(ctx.shape[0]) for m in range(ctx.shape[1])]
    )
    return [
        (label, [(token_text(tokenizer, int(i)), float(d)) for i, d in zip(row_ids, row_distances)])
        for label, row_ids, row_distances in zip(labels, ids, distances)
    ]


def format_report(rows: Sequence[tuple[str, list[tuple[str, float]]]]) -> str:
    """One line per context vector: `label: word (distance), ...`."""
    return "".join(f"{label}: " + ", ".join(f"{word} ({dist:.4f})" for word, dist in words) + "\n"
                   for label, words in rows)


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m mopd.interpret", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="checkpoint file, or a model or run folder")
    parser.add_argument("topk", metavar="TOPK", type=int, nargs="?", default=DEFAULT_TOPK,
                        help=f"nearest words per vector (default {DEFAULT_TOPK})")
    parser.add_argument("--backbone", default="", help="CLIP backbone (e.g. ViT-B/16, tiny); default: the run log's")
    parser.add_argument("--backbone-path", default="", help="local weights of that backbone (MODEL.BACKBONE.PATH)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Print the nearest words of every learned context vector; user errors end with one `error:` line."""
    args = build_parser().parse_args(argv)
    with exit_on_user_error():
        if args.topk < 1:
            raise ValueError(f"TOPK={args.topk} must be at least 1")
        checkpoint_file = resolve_checkpoint(args.checkpoint)
        ctx = context_vectors(load_checkpoint(checkpoint_file), checkpoint_file)
        backbone = Backbone(args.backbone, args.backbone_path) if args.backbone else None
        backbone = backbone or recorded_backbone(run_folder_of(checkpoint_file))
        if backbone is None:
            raise ValueError(
                f"no log.txt with the run's config in {run_folder_of(checkpoint_file)!r} names the backbone of "
                f"{checkpoint_file!r}: pass --backbone NAME (and --backbone-path FILE for local weights)"
            )
        token_embedding = load_clip(backbone.name, path=backbone.path).token_embedding.weight.detach()
        rows = interpret(ctx, token_embedding, args.topk)
    shape = " x ".join(str(n) for n in ctx.shape)
    sys.stdout.write(
        f"{checkpoint_file}: context {shape}; the {args.topk} nearest of {token_embedding.shape[0]} token "
        f"embeddings of {backbone.name}{' (' + backbone.path + ')' if backbone.path else ''}, Euclidean distance\n"
    )
    sys.stdout.write(format_report(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
