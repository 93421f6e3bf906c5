#!/usr/bin/env bash
# CoCoOp: evaluate the ImageNet model on an ImageNet variant.
# usage: bash scripts/cocoop/dg_test.sh VARIANT SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" cocoop dg_test "$@"
