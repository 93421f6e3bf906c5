#!/usr/bin/env bash
# Run a whole protocol for one method over all its datasets and seeds, one job after another in this
# process; finished runs are skipped, so the same command resumes a partial study. Then print the
# results table. (`python -m mopd.study run` runs the same jobs in parallel, locally or on SLURM.)
# usage: bash scripts/run_protocol.sh METHOD PROTOCOL [config overrides...]
#   METHOD: mopd coop cocoop kgcoop prograd zsclip
#   PROTOCOL: base2new cross_dataset domain_generalization few_shot
#   environment: SEEDS (default "1 2 3"), DATASETS (default: the protocol's datasets), SHOTS (default 16),
#   SHOTS_LIST (few_shot, default "1 2 4 8 16"), CFG, DATA, OUTPUT
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
if (($# < 2)); then
    echo "error: usage: bash $0 METHOD PROTOCOL [config overrides...]" >&2
    exit 2
fi
METHOD=$1
PROTOCOL=$2
shift 2
if [[ "$PROTOCOL" == few_shot ]]; then SHOTS="${SHOTS_LIST:-}"; fi
# shellcheck disable=SC2086  # SEEDS, DATASETS and SHOTS are lists
exec "$PYTHON" -m mopd.study run --executor debug --methods "$METHOD" --protocols "$PROTOCOL" \
    --data "$DATA" --output "$OUTPUT" --cfg "${CFG:-}" ${SEEDS:+--seeds $SEEDS} ${DATASETS:+--datasets $DATASETS} \
    ${SHOTS:+--shots $SHOTS} -- "$@"
