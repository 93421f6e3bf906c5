#!/usr/bin/env bash
# PromptSRC: train on the base classes.
# usage: bash scripts/promptsrc/base2new_train.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" promptsrc base2new_train "$@"
