#!/usr/bin/env bash
# MMRL++: train on the base classes.
# usage: bash scripts/mmrlpp/base2new_train.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" mmrlpp base2new_train "$@"
