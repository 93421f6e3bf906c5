#!/usr/bin/env bash
# CoOp: evaluate the ImageNet model on an ImageNet variant.
# usage: bash scripts/coop/dg_test.sh VARIANT SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" coop dg_test "$@"
