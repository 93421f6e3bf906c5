"""The cache key of one evaluation split's image features: everything those features depend on.

Two evaluations share features only when every field is equal; a change of any of them (other
weights, precision, input size, transform, image list, the bytes of an image) is a different key,
so a stale hit cannot happen. Besides the model and the data, the key holds how the encoder was
run (images per call, device, torch version): these can change the last bits of a feature, and
the cache promises the bits an uncached evaluation with the same settings computes.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
# The meaning of the key's fields. Raise it when a field is added or one is computed differently:
# entries of an older scheme can never be hit again, and `cache-features --prune` removes them.
# 1: images by (path, size, mtime), no key_scheme field. 2: images by the sha256 of their bytes.
KEY_SCHEME = 2


@dataclass(frozen=True)
class FeatureKey:
    """What the (N, D) image features of one evaluation split depend on."""

    dataset: str  # DATASET.NAME
    split: str  # "test", "val", or "train" (the linear probes': read with the test transform, as the others)
    subsample: str  # DATASET.SUBSAMPLE_CLASSES: all, base or new (the image list decides; this names it)
    num_images: int  # N
    images_digest: str  # sha256 over (path, sha256 of the bytes) of every image, in split order (`image_digest`)
    backbone: str  # MODEL.BACKBONE.NAME
    weights_digest: str  # sha256 over the image encoder's state_dict as evaluated (names, dtypes, bytes)
    precision: str  # fp16, fp32 or amp-<autocast dtype>
    input_size: tuple[int, int]  # INPUT.SIZE
    interpolation: str  # INPUT.INTERPOLATION
    transform: str  # the test transform as torchvision prints it (resize, crop, normalise with mean/std)
    batch_size: int  # images per encoder call (DATALOADER.TEST.BATCH_SIZE)
    device: str  # "cpu (T threads)" or "cuda (<GPU name>)": kernels differ between them
    torch_version: str
    key_scheme: int = KEY_SCHEME  # what the fields mean (KEY_SCHEME when written by this version)

    def as_dict(self) -> dict[str, object]:
        """The fields as JSON-ready values (the file header stores them)."""
        values = asdict(self)
        values["input_size"] = list(self.input_size)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, object]) -> FeatureKey:
        """The key stored in a file header; KeyError/TypeError when a field is missing or extra."""
        names = {field.name for field in fields(cls)}
        if set(values) != names:
            raise KeyError(f"header key fields {sorted(values)} are not {sorted(names)}")
        return cls(**{**values, "input_size": tuple(values["input_size"])})

    def digest(self) -> str:
        """sha256 (hex) of the canonical JSON of every field."""
        text = json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def relative_path(self) -> str:
        """`<dataset>/<split>-<subsample>-<backbone>-<precision>-<digest>.feat`: readable, unique per key."""
        name = "-".join((self.split, self.subsample, self.backbone, self.precision, self.digest()[:20]))
        return os.path.join(_safe_name(self.dataset), _safe_name(name) + ".feat")


def _safe_name(text: str) -> str:
    return _UNSAFE_NAME_CHARS.sub("_", text.replace("/", "-"))


def module_weights_digest(module: nn.Module) -> str:
    """sha256 over a module's state_dict: names, dtypes, shapes and the bytes of every tensor."""
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        value = tensor.detach().to("cpu").contiguous().reshape(-1)
        digest.update(f"{name}:{value.dtype}:{tuple(tensor.shape)}\n".encode())
        digest.update(value.view(torch.uint8).numpy())
    return digest.hexdigest()


def transform_description(transform: object) -> str:
    """The transform as torchvision prints it, without object addresses (which differ between runs)."""
    return _ADDRESS.sub("", repr(transform))


def device_description(device: torch.device) -> str:
    """The device kind the features were computed on: its results can differ in the last bits from another's."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"{device.type} ({torch.get_num_threads()} threads)"
