#!/usr/bin/env bash
# MoPD: evaluate the ImageNet model on another dataset.
# usage: bash scripts/mopd/xd_test.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" mopd xd_test "$@"
