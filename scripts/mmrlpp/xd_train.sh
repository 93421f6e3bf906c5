#!/usr/bin/env bash
# MMRL++: train on all ImageNet classes (cross-dataset and domain-generalisation source).
# usage: bash scripts/mmrlpp/xd_train.sh SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" mmrlpp xd_train "$@"
