#!/usr/bin/env bash
# MoPD: evaluate the ImageNet model on an ImageNet variant.
# usage: bash scripts/mopd/dg_test.sh VARIANT SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" mopd dg_test "$@"
