"""The cache key of one evaluation split's image features: everything those features depend on.

Two evaluations share features only when every field is equal; a change of any of them (other
weights, precision, input size, transform, image list, an image file rewritten) is a different key,
so a stale hit cannot happen. Besides the model and the data, the key holds how the encoder was
run (images per call, device, torch version): these can change the last bits of a feature, and
the cache promises the bits an uncached evaluation with the same settings computes.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_STAT_THREADS = 8


@dataclass(frozen=True)
class FeatureKey:
    """What the (N, D) normalised image features of one evaluation split depend on."""

    dataset: str  # DATASET.NAME
    split: str  # "test" or "val"
    subsample: str  # DATASET.SUBSAMPLE_CLASSES: all, base or new (the image list decides; this names it)
    num_images: int  # N
    images_digest: str  # sha256 over (path, size, mtime) of every image, in split order
    backbone: str  # MODEL.BACKBONE.NAME
    weights_digest: str  # sha256 over the image encoder's state_dict as evaluated (names, dtypes, bytes)
    precision: str  # fp16, fp32 or amp-<autocast dtype>
    input_size: tuple[int, int]  # INPUT.SIZE
    interpolation: str  # INPUT.INTERPOLATION
    transform: str  # the test transform as torchvision prints it (resize, crop, normalise with mean/std)
    batch_size: int  # images per encoder call (DATALOADER.TEST.BATCH_SIZE)
    device: str  # "cpu (T threads)" or "cuda (<GPU name>)": kernels differ between them
    torch_version: str

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


def images_digest(paths: Iterable[str]) -> str:
    """sha256 over each image's path, size and modification time: a rewritten or replaced file changes it.

    Only `stat` is called, from a few threads (on a network file system each call waits for the
    server): no image is opened. A missing image raises FileNotFoundError naming it.
    """
    paths = list(paths)
    with ThreadPoolExecutor(max_workers=_STAT_THREADS) as pool:
        infos = pool.map(_stat, paths, chunksize=256)
        digest = hashlib.sha256()
        for path, info in zip(paths, infos):
            digest.update(f"{path}\t{info.st_size}\t{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _stat(path: str) -> os.stat_result:
    try:
        return os.stat(path)
    except FileNotFoundError as err:
        raise FileNotFoundError(f'Image file not found: "{path}" (was it moved or deleted?)') from err


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
