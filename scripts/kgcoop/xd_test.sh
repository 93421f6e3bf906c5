#!/usr/bin/env bash
# KgCoOp: evaluate the ImageNet model on another dataset.
# usage: bash scripts/kgcoop/xd_test.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" kgcoop xd_test "$@"
