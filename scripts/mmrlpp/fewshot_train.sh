#!/usr/bin/env bash
# MMRL++: few-shot training on all classes (SHOTS=1|2|4|8|16).
# usage: bash scripts/mmrlpp/fewshot_train.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" mmrlpp fewshot_train "$@"
