#!/usr/bin/env bash
# Run a whole protocol for one method over all its datasets and seeds; finished runs are skipped,
# so the same command resumes a partial study. Then print the results table.
# usage: bash scripts/run_protocol.sh METHOD PROTOCOL [config overrides...]
#   METHOD: mopd coop cocoop kgcoop prograd zsclip
#   PROTOCOL: base2new cross_dataset domain_generalization few_shot
#   environment: SEEDS (default "1 2 3"), DATASETS (default: the protocol's datasets), SHOTS_LIST (few_shot,
#   default "1 2 4 8 16"), CFG, DATA, OUTPUT
set -euo pipefail
SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if (($# < 2)); then
    echo "usage: bash $0 METHOD PROTOCOL [config overrides...]" >&2
    exit 2
fi
METHOD=$1
PROTOCOL=$2
shift 2
[[ -f "$SCRIPTS/$METHOD/settings.sh" ]] || { echo "error: unknown method '$METHOD'; valid: mopd coop cocoop kgcoop prograd zsclip" >&2; exit 2; }
source "$SCRIPTS/$METHOD/settings.sh"

BENCHMARK="imagenet caltech101 oxford_pets stanford_cars oxford_flowers food101 fgvc_aircraft sun397 dtd eurosat ucf101"
TARGETS="caltech101 oxford_pets stanford_cars oxford_flowers food101 fgvc_aircraft sun397 dtd eurosat ucf101"
VARIANTS="imagenetv2 imagenet_sketch imagenet_a imagenet_r"
SEEDS="${SEEDS:-1 2 3}"

case "$PROTOCOL" in
    base2new)
        for dataset in ${DATASETS:-$BENCHMARK}; do
            for seed in $SEEDS; do
                base2new_train "$dataset" "$seed" "$@"
                base2new_test "$dataset" "$seed" "$@"
            done
        done
        ;;
    cross_dataset | domain_generalization)
        [[ "$PROTOCOL" == cross_dataset ]] && default_targets=$TARGETS || default_targets=$VARIANTS
        for seed in $SEEDS; do
            xd_train "$seed" "$@"
            for dataset in ${DATASETS:-$default_targets}; do
                if [[ "$PROTOCOL" == cross_dataset ]]; then xd_test "$dataset" "$seed" "$@"; else dg_test "$dataset" "$seed" "$@"; fi
            done
        done
        ;;
    few_shot)
        [[ "${EVAL_ONLY_METHOD:-0}" != 1 ]] || die "few_shot needs a trained method; $TRAINER learns nothing"
        for shots in ${SHOTS_LIST:-1 2 4 8 16}; do
            for dataset in ${DATASETS:-$BENCHMARK}; do
                for seed in $SEEDS; do
                    SHOTS=$shots fewshot_train "$dataset" "$seed" "$@"
                done
            done
        done
        ;;
    *)
        die "unknown protocol '$PROTOCOL'; valid: base2new cross_dataset domain_generalization few_shot"
        ;;
esac
"$PYTHON" -m mopd.results "$OUTPUT" --protocol "$PROTOCOL"
