#!/usr/bin/env bash
# MaPLe: evaluate the ImageNet model on an ImageNet variant.
# usage: bash scripts/maple/dg_test.sh VARIANT SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" maple dg_test "$@"
