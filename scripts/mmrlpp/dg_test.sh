#!/usr/bin/env bash
# MMRL++: evaluate the ImageNet model on an ImageNet variant.
# usage: bash scripts/mmrlpp/dg_test.sh VARIANT SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" mmrlpp dg_test "$@"
