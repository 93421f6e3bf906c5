#!/usr/bin/env bash
# PromptSRC: evaluate the base-trained model on the new classes.
# usage: bash scripts/promptsrc/base2new_test.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" promptsrc base2new_test "$@"
