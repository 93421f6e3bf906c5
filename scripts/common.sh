# Helpers sourced by every protocol script: repo root, $DATA, $OUTPUT, skip-if-finished, train/test runs.
# Scripts run from any directory; extra arguments after DATASET SEED are passed to train.py as
# config overrides (e.g. MODEL.BACKBONE.NAME tiny INPUT.SIZE "(32, 32)").
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

# training_finished DIR: true when a training run in DIR ran to its end (the final test included)
training_finished() {
    grep -qs "^Elapsed:" "$1"/log.txt*
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
