#!/usr/bin/env bash
# ProGrad: train on the base classes.
# usage: bash scripts/prograd/base2new_train.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/settings.sh"
usage_check "$0" 2 $# "DATASET SEED [config overrides...]"
base2new_train "$@"
