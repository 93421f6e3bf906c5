# MoPD's protocol settings, sourced by the scripts in this folder (override CFG and SHOTS from the environment).
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
TRAINER=MoPD
CONFIG_DIR=MoPD
CFG="${CFG:-vit_b16_ep25_ctxv1}"
SHOTS="${SHOTS:-16}"
