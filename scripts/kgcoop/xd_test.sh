#!/usr/bin/env bash
# KgCoOp: evaluate the ImageNet model on another dataset.
# usage: bash scripts/kgcoop/xd_test.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/settings.sh"
usage_check "$0" 2 $# "DATASET SEED [config overrides...]"
xd_test "$@"
