#!/usr/bin/env bash
# PromptSRC: evaluate the ImageNet model on an ImageNet variant.
# usage: bash scripts/promptsrc/dg_test.sh VARIANT SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" promptsrc dg_test "$@"
