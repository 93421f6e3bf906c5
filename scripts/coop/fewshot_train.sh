#!/usr/bin/env bash
# CoOp: few-shot training on all classes (SHOTS=1|2|4|8|16).
# usage: bash scripts/coop/fewshot_train.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/settings.sh"
usage_check "$0" 2 $# "DATASET SEED [config overrides...]"
fewshot_train "$@"
