#!/usr/bin/env bash
# MaPLe: evaluate the ImageNet model on another dataset.
# usage: bash scripts/maple/xd_test.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" maple xd_test "$@"
