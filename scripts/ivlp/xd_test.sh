#!/usr/bin/env bash
# IVLP: evaluate the ImageNet model on another dataset.
# usage: bash scripts/ivlp/xd_test.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" ivlp xd_test "$@"
