# CoCoOp's protocol settings, sourced by the scripts in this folder (override CFG and SHOTS from the environment).
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
TRAINER=CoCoOp
CONFIG_DIR=CoCoOp
CFG="${CFG:-vit_b16_c4_ep10_batch1_ctxv1}"
SHOTS="${SHOTS:-16}"
