"""Datasets: preparing and checking them on disk, and the plumbing every reader in `datasets/` shares.

Preparing (`python -m mopd.data check|prepare`, in `__main__`):
- `catalog`: each dataset's folder under $DATA, what a ready copy holds, where its files come from.
- `check`: whether a dataset is ready, and a report of what is missing, what is wrong and how to fix it.
- `download`: resumable, verified downloads, extraction and placement (`prepare`).

Reading (used by the readers in `datasets/`):
- `readers`: the readers' base classes: locate, read the splits, sample (one hook per reader).
- `layout`: finding a dataset's files under DATASET.ROOT, with one message for what is missing.
- `annotations`: raw annotation files (text lists, MATLAB `.mat`).
- `imagenet_classes`: ImageNet's `classnames.txt` and the 200-class subsets of ImageNet-A/-R.
- `splits`: CoOp-format split files (`read_split`, `save_split`).
- `distinct`: refusing an image listed twice or under two labels, and classes CLIP cannot tell apart.
- `class_splits`: making a split per class when a dataset has no split file.
- `fewshot`: per-class few-shot sampling and its JSON cache.
- `subsample`: base/new class subsampling.
- `dataset_splits`: `build_dataset_splits(cfg, ...)`, few-shot then base/new, on a read split.
- `io`: JSON reading and atomic writes.

Generating:
- `synthetic`: `python -m mopd.data.synthetic --root DIR` generates a small dataset.

Submodules are imported explicitly, so the generator runs without loading the training backend.
"""
