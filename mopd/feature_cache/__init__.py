"""Evaluation feature cache: the test images' CLIP features, computed once per study and shared.

Every method keeps CLIP's image encoder frozen and evaluates with a deterministic test transform, so
the image features of a split are the same in every evaluation of a study; only the text side
differs. They are stored once, keyed by everything they depend on, and each later evaluation is a
matrix product per batch.

- `key`: the cache key (`FeatureKey`) and the digests it holds.
- `image_digest`: the digest of a split's image bytes, recorded under the images' stat signature.
- `file_format`: the `.feat` file, a JSON header and raw tensor bytes.
- `store`: the folder of feature files; one writer per key (flock), atomic files, damage detected.
- `obsolete`: which files no evaluation can read any more, and pruning them.
- `split_features`: a run's features per split (`EvalFeatureCache`) and its config (`TEST.FEATURE_CACHE`).
- `evaluation`: Dassl's evaluation loop on features.
- `split_rows`: any split read as the test split is, and a subset's rows (the linear probes' train and val images).
`python -m mopd.data cache-features` (fill ahead of a study, `--status`, `--prune`) is in `mopd.cli`.
"""
