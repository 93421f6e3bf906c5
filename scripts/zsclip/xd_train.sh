#!/usr/bin/env bash
# ZeroshotCLIP: evaluate CLIP on all ImageNet classes (the source of cross-dataset and domain generalisation).
# usage: bash scripts/zsclip/xd_train.sh SEED [config overrides...]
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
run_step "$0" zsclip xd_train "$@"
