#!/usr/bin/env bash
# MaPLe: train on the base classes.
# usage: bash scripts/maple/base2new_train.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" maple base2new_train "$@"
