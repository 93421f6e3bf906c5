#!/usr/bin/env bash
# PromptSRC: evaluate the ImageNet model on another dataset.
# usage: bash scripts/promptsrc/xd_test.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" promptsrc xd_test "$@"
