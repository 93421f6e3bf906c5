#!/usr/bin/env bash
# KgCoOp: evaluate the ImageNet model on an ImageNet variant.
# usage: bash scripts/kgcoop/dg_test.sh VARIANT SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/settings.sh"
usage_check "$0" 2 $# "VARIANT SEED [config overrides...]"
dg_test "$@"
