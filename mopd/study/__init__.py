"""A whole study (methods x protocols x datasets x seeds) from one definition, run by submitit executors.

`settings` is the one table of every method's protocol settings, which the bash scripts read too;
`steps` turns it into train.py runs and their folders; `python -m mopd.study run|plan|status|step`
is the command line (see `mopd.study.cli`).
"""
