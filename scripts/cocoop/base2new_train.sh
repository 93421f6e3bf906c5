#!/usr/bin/env bash
# CoCoOp: train on the base classes.
# usage: bash scripts/cocoop/base2new_train.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" cocoop base2new_train "$@"
