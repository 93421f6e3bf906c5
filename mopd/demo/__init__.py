"""The offline demo's own parts (`bash scripts/mopd/demo.sh`): the tiny CLIP's pre-training on the synthetic data.

The synthetic images themselves come from `mopd.data.synthetic`, which the tests also use.
"""
