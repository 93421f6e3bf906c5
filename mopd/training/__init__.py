"""What every trainer of this repository shares beyond the backend's TrainerX, as mixins of the CoOp trainer.

- `run_hooks`: the run folder kept in step with training (run record, per-epoch seeds and loss means,
  finished marker).
- `precision_step`: CLIP in the run's precision and the optimizer step under it (scaler, non-finite losses).
- `checkpoint_hooks`: what a checkpoint says about the prompt that wrote it, and foreign checkpoints' keys.
- `epochs`: per-epoch seeds and running means.
- `gate_report`: MoPD's teacher-selection statistics.
- `probe_inputs`, `probe_file`: linear-probe CLIP's images per split, and its probe saved as plain data.
"""
