#!/usr/bin/env bash
# CoCoOp: evaluate the ImageNet model on another dataset.
# usage: bash scripts/cocoop/xd_test.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" cocoop xd_test "$@"
