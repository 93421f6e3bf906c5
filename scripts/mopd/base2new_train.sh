#!/usr/bin/env bash
# MoPD: train on the base classes.
# usage: bash scripts/mopd/base2new_train.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" mopd base2new_train "$@"
