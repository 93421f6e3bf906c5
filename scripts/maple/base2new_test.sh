#!/usr/bin/env bash
# MaPLe: evaluate the base-trained model on the new classes.
# usage: bash scripts/maple/base2new_test.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" maple base2new_test "$@"
