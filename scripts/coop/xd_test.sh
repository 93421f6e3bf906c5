#!/usr/bin/env bash
# CoOp: evaluate the ImageNet model on another dataset.
# usage: bash scripts/coop/xd_test.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" coop xd_test "$@"
