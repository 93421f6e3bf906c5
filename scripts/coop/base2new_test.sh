#!/usr/bin/env bash
# CoOp: evaluate the base-trained model on the new classes.
# usage: bash scripts/coop/base2new_test.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" coop base2new_test "$@"
