"""A training run's folder: what it records and who holds it, so launchers, scripts and reruns agree.

- `record`: `run_config.json`, the run's settings and their fingerprint.
- `lock`: `run.lock`, held by the one process that uses the folder.
- `finished`: `run_finished.json`, written last.
- `folder`: new, resume, finished or refused, decided from the folder alone.
"""
