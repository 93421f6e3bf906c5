#!/usr/bin/env bash
# KgCoOp: evaluate the ImageNet model on an ImageNet variant.
# usage: bash scripts/kgcoop/dg_test.sh VARIANT SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" kgcoop dg_test "$@"
