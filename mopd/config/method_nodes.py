"""Which trainers read each method node under `TRAINER`: keys no trainer of a run reads are reported, never fingerprinted.

`TRAINER.COOP` holds the settings every trainer shares and `TRAINER.NAME` names the trainer; every other
node belongs to the methods listed here (Dassl's defaults add nodes for its own trainers, which no
trainer of this repository reads). A trainer of your own reads `TRAINER.COOP` and the nodes it is
listed under here. Imports nothing, so the run record and the study can use it without the backend.
"""
from __future__ import annotations

from types import MappingProxyType

SHARED_NODES = frozenset({"COOP"})
METHOD_NODE_READERS = MappingProxyType({
    "MOPD": ("MoPD",),
    "COCOOP": ("CoCoOp",),
    "KGCOOP": ("KgCoOp",),
    "PROGRAD": ("ProGrad",),
    "MAPLE": ("MaPLe",),
    "IVLP": ("IVLP",),
    "PROMPTSRC": ("PromptSRC",),
    "MMRL": ("MMRL",),
    "MMRLPP": ("MMRLpp",),
})


def node_of(key: str) -> str | None:
    """The method node of a flat key (`TRAINER.MOPD.W` -> `MOPD`); None outside `TRAINER.<NODE>.`."""
    parts = key.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "TRAINER" else None


def is_read_by(key: str, trainer: str) -> bool:
    """Whether a run of `trainer` reads the flat config `key` (every key outside `TRAINER.<NODE>` is read)."""
    node = node_of(key)
    return node is None or node in SHARED_NODES or trainer in METHOD_NODE_READERS.get(node, ())


def readers_of(key: str) -> tuple[str, ...]:
    """The trainers that read the method node of `key` (empty for Dassl's own trainers' nodes)."""
    return METHOD_NODE_READERS.get(node_of(key) or "", ())
