#!/usr/bin/env bash
# ProGrad: evaluate the ImageNet model on another dataset.
# usage: bash scripts/prograd/xd_test.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" prograd xd_test "$@"
