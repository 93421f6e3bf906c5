"""Dassl-registered trainers; importing this package registers every one of them."""
from . import cocoop, coop, ivlp, kgcoop, lpclip, maple, mmrl, mmrlpp, mopd, prograd, promptsrc, zsclip  # noqa: F401
