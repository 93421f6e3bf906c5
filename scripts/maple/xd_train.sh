#!/usr/bin/env bash
# MaPLe: train on all ImageNet classes (cross-dataset and domain-generalisation source).
# usage: bash scripts/maple/xd_train.sh SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" maple xd_train "$@"
