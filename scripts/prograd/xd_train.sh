#!/usr/bin/env bash
# ProGrad: train on all ImageNet classes (cross-dataset and domain-generalisation source).
# usage: bash scripts/prograd/xd_train.sh SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/settings.sh"
usage_check "$0" 1 $# "SEED [config overrides...]"
xd_train "$@"
