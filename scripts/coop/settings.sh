# CoOp's protocol settings, sourced by the scripts in this folder (override CFG and SHOTS from the environment).
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
TRAINER=CoOp
CONFIG_DIR=CoOp
CFG="${CFG:-vit_b16_ep50_ctxv1}"
SHOTS="${SHOTS:-16}"
