#!/usr/bin/env bash
# ProGrad: train on the base classes.
# usage: bash scripts/prograd/base2new_train.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" prograd base2new_train "$@"
