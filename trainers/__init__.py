"""Dassl-registered trainers; importing this package registers every one of them."""
from . import coop, mopd, zsclip  # noqa: F401
