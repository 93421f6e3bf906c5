#!/usr/bin/env bash
# ProGrad: evaluate the base-trained model on the new classes.
# usage: bash scripts/prograd/base2new_test.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" prograd base2new_test "$@"
