#!/usr/bin/env bash
# MMRL++: evaluate the ImageNet model on another dataset.
# usage: bash scripts/mmrlpp/xd_test.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" mmrlpp xd_test "$@"
