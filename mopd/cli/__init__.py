"""Command-line plumbing: config assembly from train.py's arguments, user-error exits, the data commands.

- `config`: the effective config from `--config-file`s and `KEY VALUE` overrides, name checks, logging.
- `errors`: one `error:` line and an exit code for a user's mistake or Ctrl-C, nothing written lost.
- `checkout`: the one place the library reaches the checkout's `datasets/` and `train.py`.
- `data`, `cache_features`, `fill_features`: `python -m mopd.data check|prepare|cache-features`.
"""
