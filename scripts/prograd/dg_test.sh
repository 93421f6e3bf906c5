#!/usr/bin/env bash
# ProGrad: evaluate the ImageNet model on an ImageNet variant.
# usage: bash scripts/prograd/dg_test.sh VARIANT SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" prograd dg_test "$@"
