#!/usr/bin/env bash
# Linear-probe CLIP: fit the probe on the few-shot images of all classes, then test (SHOTS=1|2|4|8|16).
# usage: bash scripts/lpclip/fewshot_train.sh DATASET SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" lpclip fewshot_train "$@"
