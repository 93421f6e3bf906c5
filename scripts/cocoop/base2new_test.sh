#!/usr/bin/env bash
# CoCoOp: evaluate the base-trained model on the new classes.
# usage: bash scripts/cocoop/base2new_test.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" cocoop base2new_test "$@"
