#!/usr/bin/env bash
# ZeroshotCLIP: evaluate CLIP on an ImageNet variant.
# usage: bash scripts/zsclip/dg_test.sh VARIANT SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" zsclip dg_test "$@"
