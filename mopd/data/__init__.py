"""Dataset plumbing shared by every reader in `datasets/`, and the synthetic dataset generator.

- `io`: JSON reading and atomic writes.
- `splits`: CoOp-format split files (`read_split`, `save_split`) and producing splits.
- `fewshot`: per-class few-shot sampling and its JSON cache.
- `subsample`: base/new class subsampling.
- `dataset_splits`: `build_dataset_splits(cfg, ...)`, the one call a reader makes.
- `synthetic`: `python -m mopd.data.synthetic --root DIR` generates a small dataset.

Submodules are imported explicitly, so the generator runs without loading the training backend.
"""
