#!/usr/bin/env bash
# ZeroshotCLIP: evaluate CLIP on another dataset.
# usage: bash scripts/zsclip/xd_test.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" zsclip xd_test "$@"
