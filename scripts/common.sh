# The one file every protocol script sources: repo root, $DATA, $OUTPUT, skip-if-finished, and the four
# protocols (base-to-new, cross-dataset, domain generalisation, few-shot) for the method whose
# scripts/<method>/settings.sh set TRAINER and CFG. Scripts run from any directory; arguments after
# DATASET SEED are passed to train.py as config overrides (e.g. MODEL.BACKBONE.NAME tiny INPUT.SIZE "(32, 32)").
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${DATA:-$REPO_ROOT/data}"
OUTPUT="${OUTPUT:-$REPO_ROOT/output}"
PYTHON="${PYTHON:-python}"

die() {
    echo "error: $*" >&2
    exit 2
}

# usage_check NAME MIN_ARGS ACTUAL_ARGS USAGE
usage_check() {
    if (($3 < $2)); then
        die "usage: bash $1 $4"
    fi
}

# dataset_config DATASET -> path of configs/datasets/DATASET.yaml (or a clear error listing the valid names)
dataset_config() {
    local file="$REPO_ROOT/configs/datasets/$1.yaml"
    if [[ ! -f "$file" ]]; then
        local names
        names="$(cd "$REPO_ROOT/configs/datasets" && ls -- *.yaml | sed 's/\.yaml$//' | tr '\n' ' ')"
        die "unknown dataset '$1'; valid names: $names"
    fi
    echo "$file"
}

# training_finished DIR: true when a training run in DIR ran to its end (train.py writes the marker last)
training_finished() {
    [[ -f "$1/run_finished.json" ]]
}

# evaluation_finished DIR: true when an evaluation run in DIR printed its result block
evaluation_finished() {
    grep -qs "^\* accuracy:" "$1"/log.txt*
}

# last_checkpoint_epoch DIR: the highest epoch saved under DIR/<model>/model.pth.tar-N
last_checkpoint_epoch() {
    local last
    last="$(find "$1" -name 'model.pth.tar-*' 2>/dev/null | sed 's/.*model\.pth\.tar-//' | sort -n | tail -n 1)"
    [[ -n "$last" ]] || die "no checkpoint in $1: run the matching training script first"
    echo "$last"
}

# train_run DIR TRAIN_PY_ARGS...: train into DIR unless a finished run is there (a crashed one resumes)
train_run() {
    local dir="$1"
    shift
    if training_finished "$dir"; then
        echo "Skip: a finished training run is in $dir"
        return 0
    fi
    echo "Train into $dir"
    "$PYTHON" "$REPO_ROOT/train.py" --output-dir "$dir" "$@"
}

# eval_run DIR TRAIN_PY_ARGS...: evaluate into DIR unless its result is already there
eval_run() {
    local dir="$1"
    shift
    if evaluation_finished "$dir"; then
        echo "Skip: a finished evaluation is in $dir"
        return 0
    fi
    echo "Evaluate into $dir"
    "$PYTHON" "$REPO_ROOT/train.py" --output-dir "$dir" --eval-only "$@"
}

# method_config_files DATASET: `--config-file` arguments, one a line: the method's config, plus its published
# per-dataset setting configs/trainers/$CONFIG_DIR/base2new/DATASET.yaml when there is one
method_config_files() {
    local base="$REPO_ROOT/configs/trainers/$CONFIG_DIR/$CFG.yaml"
    local per_dataset="$REPO_ROOT/configs/trainers/$CONFIG_DIR/base2new/$1.yaml"
    if [[ ! -f "$base" ]]; then
        die "no config $base; set CFG to one of: $(cd "$REPO_ROOT/configs/trainers/$CONFIG_DIR" && ls -- *.yaml | sed 's/\.yaml$//' | tr '\n' ' ')"
    fi
    printf "%s\n" --config-file "$base"
    if [[ -f "$per_dataset" ]]; then
        printf "%s\n" --config-file "$per_dataset"
    fi
}

# run_dir PROTOCOL/PHASE DATASET SEED [SHOTS]: where a run lives (the layout `python -m mopd.results` reads)
run_dir() {
    echo "$OUTPUT/$1/$2/shots_${4:-$SHOTS}/$TRAINER/$CFG/seed$3"
}

# _common_args DATASET SEED: arguments shared by every run of DATASET
_common_args() {
    local dataset_cfg config_files
    dataset_cfg="$(dataset_config "$1")" || exit 2
    config_files="$(method_config_files "$1")" || exit 2
    mapfile -t _CONFIG_ARGS <<<"$config_files"
    COMMON_ARGS=(--root "$DATA" --seed "$2" --trainer "$TRAINER" --dataset-config-file "$dataset_cfg" "${_CONFIG_ARGS[@]}")
}

# _learn_or_evaluate DIR ARGS...: train into DIR, or only evaluate for methods that learn nothing
_learn_or_evaluate() {
    if [[ "${EVAL_ONLY_METHOD:-0}" == 1 ]]; then
        eval_run "$@"
    else
        train_run "$@"
    fi
}

# _trained_model_args DIR: --model-dir/--load-epoch of the last checkpoint in DIR (nothing for zero-shot)
_trained_model_args() {
    MODEL_ARGS=()
    if [[ "${EVAL_ONLY_METHOD:-0}" != 1 ]]; then
        local epoch
        epoch="$(last_checkpoint_epoch "$1")" || exit 2
        MODEL_ARGS=(--model-dir "$1" --load-epoch "$epoch")
    fi
}

# base2new_train DATASET SEED [overrides...]: train on the base classes (final test = Base accuracy)
base2new_train() {
    local dataset=$1 seed=$2
    shift 2
    _common_args "$dataset" "$seed"
    local dir phase=train_base
    [[ "${EVAL_ONLY_METHOD:-0}" == 1 ]] && phase=test_base
    dir="$(run_dir "base2new/$phase" "$dataset" "$seed")"
    _learn_or_evaluate "$dir" "${COMMON_ARGS[@]}" DATASET.NUM_SHOTS "$SHOTS" DATASET.SUBSAMPLE_CLASSES base "$@"
}

# base2new_test DATASET SEED [overrides...]: evaluate the last checkpoint of the base run on the new classes
base2new_test() {
    local dataset=$1 seed=$2
    shift 2
    _common_args "$dataset" "$seed"
    _trained_model_args "$(run_dir base2new/train_base "$dataset" "$seed")"
    eval_run "$(run_dir base2new/test_new "$dataset" "$seed")" "${COMMON_ARGS[@]}" "${MODEL_ARGS[@]}" \
        DATASET.NUM_SHOTS "$SHOTS" DATASET.SUBSAMPLE_CLASSES new "$@"
}

# xd_train SEED [overrides...]: train on all ImageNet classes (source of cross-dataset and DG)
xd_train() {
    local seed=$1
    shift
    _common_args imagenet "$seed"
    _learn_or_evaluate "$(run_dir cross_dataset/train imagenet "$seed")" "${COMMON_ARGS[@]}" \
        DATASET.NUM_SHOTS "$SHOTS" "$@"
}

# _evaluate_imagenet_model PROTOCOL/PHASE DATASET SEED [overrides...]: the ImageNet model on DATASET, all classes
_evaluate_imagenet_model() {
    local where=$1 dataset=$2 seed=$3
    shift 3
    _common_args "$dataset" "$seed"
    _trained_model_args "$(run_dir cross_dataset/train imagenet "$seed")"
    eval_run "$(run_dir "$where" "$dataset" "$seed")" "${COMMON_ARGS[@]}" "${MODEL_ARGS[@]}" "$@"
}

# xd_test DATASET SEED [overrides...]: cross-dataset transfer of the ImageNet model
xd_test() {
    _evaluate_imagenet_model cross_dataset/test "$@"
}

# dg_test VARIANT SEED [overrides...]: domain generalisation of the ImageNet model (imagenetv2, imagenet_sketch, ...)
dg_test() {
    _evaluate_imagenet_model domain_generalization/test "$@"
}

# fewshot_train DATASET SEED [overrides...]: train and test on all classes with $SHOTS shots
fewshot_train() {
    local dataset=$1 seed=$2
    shift 2
    _common_args "$dataset" "$seed"
    _learn_or_evaluate "$(run_dir few_shot "$dataset" "$seed")" "${COMMON_ARGS[@]}" DATASET.NUM_SHOTS "$SHOTS" "$@"
}
