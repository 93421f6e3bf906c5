"""Config overrides given to a script or a study, checked against what the run folders encode.

A run folder is `<protocol>/<phase>/<dataset>/shots_<K>/<Trainer>/<cfg>/seed<S>`: the overrides must not
make a run's settings differ from its folder. The shot count follows an override of
`DATASET.NUM_SHOTS` (the folder is then `shots_<that>`); the other keys the folder or the step encodes
are refused with the argument to use instead.
"""
from __future__ import annotations

from collections.abc import Sequence

SHOTS_KEY = "DATASET.NUM_SHOTS"

# Keys a script or study sets itself, and where the user sets them instead.
_OWNED_KEYS = {
    "SEED": "the SEED argument of the script (--seeds for a study)",
    "DATASET.NAME": "the DATASET argument of the script (--datasets for a study)",
    "DATASET.SUBSAMPLE_CLASSES": "the script: base2new_train.sh trains on base, base2new_test.sh tests on new",
    "DATASET.ROOT": "$DATA (--data for a study)",
    "TRAINER.NAME": "the method's scripts folder (--methods for a study)",
    "OUTPUT_DIR": "$OUTPUT (--output for a study)",
}


def split_overrides(overrides: Sequence[str]) -> list[tuple[str, str]]:
    """(KEY, VALUE) pairs of a `KEY VALUE ...` list; an odd count or an owned key is an error."""
    if len(overrides) % 2:
        raise ValueError(
            f"config overrides come in KEY VALUE pairs; got an odd number of words: {' '.join(overrides)}"
        )
    pairs = list(zip(overrides[::2], overrides[1::2]))
    for key, _ in pairs:
        if key in _OWNED_KEYS:
            raise ValueError(
                f"{key} cannot be overridden here: it names the run folder or the step; set it with "
                f"{_OWNED_KEYS[key]}"
            )
    return pairs


def effective_shots(overrides: Sequence[str], default: int) -> int:
    """The shots per class a run will use: the last DATASET.NUM_SHOTS override, else `default`."""
    shots = default
    for key, value in split_overrides(overrides):
        if key == SHOTS_KEY:
            try:
                shots = int(value)
            except ValueError:
                raise ValueError(f"{SHOTS_KEY} must be a whole number of shots per class, got {value!r}") from None
            if shots < 1:
                raise ValueError(f"{SHOTS_KEY} must be at least 1 for a protocol run, got {shots}")
    return shots
