"""The config tree: Dassl's defaults plus every node this repository adds (`defaults`), and their checks (`checks`).

Nothing is imported here: `checks` is used before the backend may be imported (train.py reports an
unusable `MOPD_BACKEND` as a user error), while `defaults` imports the backend.
"""
