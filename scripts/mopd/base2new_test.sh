#!/usr/bin/env bash
# MoPD base-to-new, evaluating the last-epoch checkpoint of the matching training run on the new classes.
# usage: bash scripts/mopd/base2new_test.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
usage_check "$0" 2 $# "DATASET SEED [config overrides...]"
source "$REPO_ROOT/scripts/mopd/settings.sh"
DATASET=$1
SEED=$2
shift 2
DATASET_CFG="$(dataset_config "$DATASET")"
CONFIG_FILES="$(mopd_config_files "$DATASET")"
mapfile -t CONFIG_FILES <<<"$CONFIG_FILES"
MODEL_DIR="$(mopd_base2new_dir train_base "$DATASET" "$SEED")"
LOAD_EPOCH="$(last_checkpoint_epoch "$MODEL_DIR")"

eval_run "$(mopd_base2new_dir test_new "$DATASET" "$SEED")" \
    --root "$DATA" --seed "$SEED" --trainer MoPD \
    --dataset-config-file "$DATASET_CFG" "${CONFIG_FILES[@]}" \
    --model-dir "$MODEL_DIR" --load-epoch "$LOAD_EPOCH" \
    DATASET.NUM_SHOTS "$SHOTS" DATASET.SUBSAMPLE_CLASSES new "$@"
