# ZeroshotCLIP's protocol settings, sourced by the scripts in this folder (override CFG and SHOTS from the environment).
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
TRAINER=ZeroshotCLIP
CONFIG_DIR=CoOp
CFG="${CFG:-vit_b16}"
SHOTS="${SHOTS:-16}"
EVAL_ONLY_METHOD=1  # nothing is trained: every "train" step evaluates
