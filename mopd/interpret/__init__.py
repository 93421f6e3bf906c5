"""Prompt interpretation, as CoOp's `interpret_prompt.py`: the words nearest to each learned context vector.

- `checkpoints`: the checkpoint a path names, its learned context, the backbone the run's log records.
- `nearest`: the nearest token embeddings of each vector (Euclidean distance) and the report.
- `cli`: `python -m mopd.interpret CHECKPOINT [TOPK]`.
"""
