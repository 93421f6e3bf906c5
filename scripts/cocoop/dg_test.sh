#!/usr/bin/env bash
# CoCoOp: evaluate the ImageNet model on an ImageNet variant.
# usage: bash scripts/cocoop/dg_test.sh VARIANT SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/settings.sh"
usage_check "$0" 2 $# "VARIANT SEED [config overrides...]"
dg_test "$@"
