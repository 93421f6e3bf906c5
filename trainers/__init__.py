"""Dassl-registered trainers; importing this package registers every one of them."""
from . import cocoop, coop, kgcoop, lpclip, mopd, prograd, zsclip  # noqa: F401
