#!/usr/bin/env bash
# ZeroshotCLIP: evaluate CLIP on the new classes.
# usage: bash scripts/zsclip/base2new_test.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" zsclip base2new_test "$@"
