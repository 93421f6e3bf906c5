#!/usr/bin/env bash
# PromptSRC: train on all ImageNet classes (cross-dataset and domain-generalisation source).
# usage: bash scripts/promptsrc/xd_train.sh SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" promptsrc xd_train "$@"
