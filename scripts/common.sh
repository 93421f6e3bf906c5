# The one file every protocol script sources: repo root, $DATA, $OUTPUT, $PYTHON, and `run_step`, which
# hands the step to `python -m mopd.study step`. The settings of every method (trainer, config per
# dataset and shot count, run-folder layout) live in one table, mopd/study/settings.py, which the
# study reads too. Scripts run from any directory; arguments after DATASET SEED are passed to
# train.py as config overrides (e.g. MODEL.BACKBONE.NAME tiny INPUT.SIZE "(32, 32)").
# Environment: DATA (default ./data), OUTPUT (default ./output), SHOTS (default 16), CFG (one config
# for every dataset instead of the method's published setting), PYTHON (default python),
# ALLOW_SETTINGS_CHANGE=1 (resume, or accept as finished, a training whose recorded settings differ).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${DATA:-$REPO_ROOT/data}"
OUTPUT="${OUTPUT:-$REPO_ROOT/output}"
PYTHON="${PYTHON:-python}"
export PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}"  # this checkout's mopd, from any directory

# run_step SCRIPT METHOD STEP ARGS...: run one protocol step; a finished run is skipped, a crashed one resumes
run_step() {
    local script=$1 method=$2 step=$3
    shift 3
    local allow=()
    if [[ "${ALLOW_SETTINGS_CHANGE:-0}" == 1 ]]; then allow=(--allow-settings-change); fi
    exec "$PYTHON" -m mopd.study step --prog "bash $script" --data "$DATA" --output "$OUTPUT" --cfg "${CFG:-}" \
        ${SHOTS:+--shots "$SHOTS"} "${allow[@]}" "$method" "$step" "$@"
}
