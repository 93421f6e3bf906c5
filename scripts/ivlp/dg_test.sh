#!/usr/bin/env bash
# IVLP: evaluate the ImageNet model on an ImageNet variant.
# usage: bash scripts/ivlp/dg_test.sh VARIANT SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" ivlp dg_test "$@"
