#!/usr/bin/env bash
# Offline demo of the whole MoPD base-to-new pipeline: generated images, a tiny CLIP pre-trained on
# them, MoPD trained on the base classes, evaluated on the new classes, then the results table.
# usage: bash scripts/mopd/demo.sh [config overrides...]      (outputs under $OUTPUT, default ./output/demo)
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
export DATA="${DEMO_DATA:-$OUTPUT/demo/data}"
export OUTPUT="$OUTPUT/demo"
export PYTHON

"$PYTHON" -m mopd.data.synthetic --root "$DATA"
# Like real CLIP, the tiny one is first pre-trained on image-text pairs of every class (seconds, cached).
"$PYTHON" -m mopd.demo.pretrain_tiny --data-root "$DATA" --output "$OUTPUT/tiny_clip.pt"
TINY=(MODEL.BACKBONE.NAME tiny MODEL.BACKBONE.PATH "$OUTPUT/tiny_clip.pt" INPUT.SIZE "(32, 32)"
    DATALOADER.NUM_WORKERS 0 OPTIM.MAX_EPOCH 10 TRAIN.PRINT_FREQ 5)
bash "$REPO_ROOT/scripts/mopd/base2new_train.sh" synthetic 1 "${TINY[@]}" "$@"
bash "$REPO_ROOT/scripts/mopd/base2new_test.sh" synthetic 1 "${TINY[@]}" "$@"
"$PYTHON" -m mopd.results "$OUTPUT" --protocol base2new
