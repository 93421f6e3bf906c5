# KgCoOp's protocol settings, sourced by the scripts in this folder (override CFG and SHOTS from the environment).
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
TRAINER=KgCoOp
CONFIG_DIR=KgCoOp
CFG="${CFG:-vit_b16_ep100_ctxv1}"
SHOTS="${SHOTS:-16}"
