#!/usr/bin/env bash
# KgCoOp: train on the base classes.
# usage: bash scripts/kgcoop/base2new_train.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" kgcoop base2new_train "$@"
