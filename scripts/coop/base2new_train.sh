#!/usr/bin/env bash
# CoOp: train on the base classes.
# usage: bash scripts/coop/base2new_train.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" coop base2new_train "$@"
