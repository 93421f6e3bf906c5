#!/usr/bin/env bash
# ProGrad: train on all ImageNet classes (cross-dataset and domain-generalisation source).
# usage: bash scripts/prograd/xd_train.sh SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" prograd xd_train "$@"
