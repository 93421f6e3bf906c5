#!/usr/bin/env bash
# MMRL++: evaluate the base-trained model on the new classes.
# usage: bash scripts/mmrlpp/base2new_test.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" mmrlpp base2new_test "$@"
