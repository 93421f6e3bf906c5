# MoPD's published protocol settings, sourced by the scripts in this folder.
CFG="${CFG:-vit_b16_ep25_ctxv1}"
SHOTS="${SHOTS:-16}"

# mopd_config_files DATASET: `--config-file` arguments for the base config plus the published per-dataset
# setting, one argument a line
mopd_config_files() {
    local base="$REPO_ROOT/configs/trainers/MoPD/$CFG.yaml"
    local per_dataset="$REPO_ROOT/configs/trainers/MoPD/base2new/$1.yaml"
    [[ -f "$base" ]] || die "no MoPD config $base (set CFG to one of: $(ls "$REPO_ROOT/configs/trainers/MoPD" | grep yaml | sed 's/\.yaml$//' | tr '\n' ' '))"
    if [[ -f "$per_dataset" ]]; then
        printf "%s\n" --config-file "$base" --config-file "$per_dataset"
    else
        echo "Note: no published MoPD setting for '$1'; using the defaults of $CFG" >&2
        printf "%s\n" --config-file "$base"
    fi
}

# mopd_base2new_dir PHASE DATASET SEED: where a base-to-new run lives
mopd_base2new_dir() {
    echo "$OUTPUT/base2new/$1/$2/shots_$SHOTS/MoPD/$CFG/seed$3"
}
