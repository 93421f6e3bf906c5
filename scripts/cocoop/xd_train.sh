#!/usr/bin/env bash
# CoCoOp: train on all ImageNet classes (cross-dataset and domain-generalisation source).
# usage: bash scripts/cocoop/xd_train.sh SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" cocoop xd_train "$@"
