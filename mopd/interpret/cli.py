"""`python -m mopd.interpret CHECKPOINT [TOPK]`: the words nearest to each learned context vector.

CoOp's `interpret_prompt.py` for every method here: the learned context `ctx` of a CoOp, CoCoOp,
KgCoOp, ProGrad, MoPD, MaPLe, IVLP or PromptSRC checkpoint, one vector at a time, against every row of
CLIP's token embedding, by Euclidean distance; the TOPK nearest tokens are printed with their distances. For
CoCoOp this is the context before the image's meta-net shift. CHECKPOINT is a checkpoint file
(`<run>/prompt_learner/model.pth.tar-<epoch>`), its model folder or the run folder (the latest
checkpoint). The backbone is the one the run's log records, or `--backbone` (and `--backbone-path`).
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mopd.cli.errors import exit_on_user_error
from mopd.clip.loading import load_clip
from mopd.engine.checkpoint import load_checkpoint
from mopd.interpret.checkpoints import Backbone, context_vectors, recorded_backbone, resolve_checkpoint, run_folder_of
from mopd.interpret.nearest import format_report, interpret

DEFAULT_TOPK = 3


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
