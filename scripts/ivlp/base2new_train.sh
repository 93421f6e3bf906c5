#!/usr/bin/env bash
# IVLP: train on the base classes.
# usage: bash scripts/ivlp/base2new_train.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" ivlp base2new_train "$@"
