#!/usr/bin/env bash
# MoPD base-to-new, training on the base classes with the published per-dataset setting.
# usage: bash scripts/mopd/base2new_train.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
usage_check "$0" 2 $# "DATASET SEED [config overrides...]"
source "$REPO_ROOT/scripts/mopd/settings.sh"
DATASET=$1
SEED=$2
shift 2
DATASET_CFG="$(dataset_config "$DATASET")"
CONFIG_FILES="$(mopd_config_files "$DATASET")"
mapfile -t CONFIG_FILES <<<"$CONFIG_FILES"

train_run "$(mopd_base2new_dir train_base "$DATASET" "$SEED")" \
    --root "$DATA" --seed "$SEED" --trainer MoPD \
    --dataset-config-file "$DATASET_CFG" "${CONFIG_FILES[@]}" \
    DATASET.NUM_SHOTS "$SHOTS" DATASET.SUBSAMPLE_CLASSES base "$@"
