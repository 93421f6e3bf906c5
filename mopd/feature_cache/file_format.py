"""The `.feat` file: one feature matrix behind a small JSON header; nothing in it is ever unpickled.

Layout: the 8 bytes `MOPDFEAT`, the header length as a little-endian uint64, the UTF-8 JSON header,
then the tensor's raw bytes (row-major). The header holds the format version, the cache key, the
paths of the images (row i is the features of image i), the dtype, the shape and the sha256 of the
raw bytes, so a truncated or damaged file is detected.

Format 1 had no image paths (and its key read the images by size and modification time).
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
from datetime import datetime, timezone
from typing import Any, BinaryIO

import torch

from mopd.files.atomic import atomic_path

MAGIC = b"MOPDFEAT"
FORMAT_VERSION = 2
_LENGTH = struct.Struct("<Q")
_MAX_HEADER_BYTES = 1 << 26  # the header holds the image paths: about 4 MB for ImageNet's 50,000
_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64}


class DamagedFeatureFile(ValueError):
    """A `.feat` file that cannot be what its writer wrote: truncated, overwritten or not a feature file."""


class OtherFormatVersion(DamagedFeatureFile):
    """A `.feat` file in a format version this version does not read (`version`: the file's)."""

    def __init__(self, message: str, version: object) -> None:
        super().__init__(message)
        self.version = version


def dtype_name(dtype: torch.dtype) -> str:
    """"float16" for torch.float16, ...; ValueError for a dtype the format does not store."""
    name = str(dtype).removeprefix("torch.")
    if name not in _DTYPES:
        raise ValueError(f"feature files store {sorted(_DTYPES)} tensors, not {name}")
    return name


def write_feature_file(path: str, key: dict[str, Any], features: torch.Tensor, images: list[str]) -> None:
    """Write (N, D) `features` of the N `images` and the header to `path` atomically: readers see the old file or the whole new one."""
    if len(images) != features.shape[0]:
        raise ValueError(f"{len(images)} image paths for {features.shape[0]} rows of features")
    payload = features.detach().to("cpu").contiguous().reshape(-1).view(torch.uint8).numpy()
    header = {
        "format": FORMAT_VERSION,
        "key": key,
        "images": images,
        "dtype": dtype_name(features.dtype),
        "shape": list(features.shape),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    header_bytes = json.dumps(header, sort_keys=True).encode()
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(MAGIC + _LENGTH.pack(len(header_bytes)) + header_bytes)
            handle.write(payload.data)
            handle.flush()
            os.fsync(handle.fileno())


def read_feature_header(path: str) -> dict[str, Any]:
    """The header of a `.feat` file, after checking that the file is as long as the header says."""
    with open(path, "rb") as handle:
        header = _read_header(handle, path)
        expected = handle.tell() + _payload_bytes(header)
    size = os.path.getsize(path)
    if size != expected:
        raise DamagedFeatureFile(f"{path} holds {size} bytes, its header promises {expected} (truncated?)")
    return header


def read_feature_file(path: str) -> tuple[dict[str, Any], torch.Tensor]:
    """The header and the tensor of a `.feat` file; DamagedFeatureFile when anything does not check out."""
    with open(path, "rb") as handle:
        header = _read_header(handle, path)
        payload = bytearray(_payload_bytes(header))
        got = handle.readinto(payload)
        trailing = handle.read(1)
    if got != len(payload):
        raise DamagedFeatureFile(f"{path} is truncated: {got} of {len(payload)} feature bytes")
    if trailing:
        raise DamagedFeatureFile(f"{path} has bytes after its features (damaged)")
    if hashlib.sha256(payload).hexdigest() != header["sha256"]:
        raise DamagedFeatureFile(f"{path}: the features do not match the checksum in the header (damaged)")
    tensor = torch.frombuffer(payload, dtype=torch.uint8).view(_DTYPES[header["dtype"]]).reshape(header["shape"])
    return header, tensor


def _read_header(handle: BinaryIO, path: str) -> dict[str, Any]:
    prefix = handle.read(len(MAGIC) + _LENGTH.size)
    if len(prefix) < len(MAGIC) + _LENGTH.size or not prefix.startswith(MAGIC):
        raise DamagedFeatureFile(f"{path} is not a feature cache file (no {MAGIC.decode()} header)")
    (length,) = _LENGTH.unpack(prefix[len(MAGIC):])
    if length > _MAX_HEADER_BYTES:
        raise DamagedFeatureFile(f"{path}: header length {length} is implausible (damaged)")
    raw = handle.read(length)
    try:
        header = json.loads(raw.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DamagedFeatureFile(f"{path}: the header is not valid JSON ({err}; truncated or damaged)") from err
    if not isinstance(header, dict) or "format" not in header:
        raise DamagedFeatureFile(f"{path}: the header has no format version")
    if header["format"] != FORMAT_VERSION:
        raise OtherFormatVersion(f"{path} is in format {header['format']}, this version reads {FORMAT_VERSION}",
                                 header["format"])
    required = ("key", "images", "dtype", "shape", "sha256")
    if any(name not in header for name in required):
        raise DamagedFeatureFile(f"{path}: the header lacks one of {required}")
    shape = header["shape"]
    is_matrix = isinstance(shape, list) and len(shape) == 2 and all(isinstance(n, int) and n >= 0 for n in shape)
    if header["dtype"] not in _DTYPES or not is_matrix:
        raise DamagedFeatureFile(f"{path}: dtype {header['dtype']!r} / shape {header['shape']} is not an (N, D) matrix")
    images = header["images"]
    if not isinstance(images, list) or len(images) != shape[0] or not all(isinstance(p, str) for p in images):
        raise DamagedFeatureFile(f"{path}: the header's image paths are not {shape[0]} strings")
    return header


def _payload_bytes(header: dict[str, Any]) -> int:
    rows, cols = header["shape"]
    return rows * cols * _DTYPES[header["dtype"]].itemsize
