"""JSON reading, file digests, and atomic writes of bytes and JSON."""
from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from mopd.files.atomic import atomic_path


_CHUNK = 1 << 20


def file_digest(path: str, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def read_json(path: str) -> Any:
    """Load a JSON file; a corrupt file raises ValueError naming it."""
    with open(path, encoding="utf-8") as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(
                f"{path} is not valid JSON ({err}); the file is damaged: "
                "delete it, then rebuild or download it"
            ) from err


def dump_json(obj: Any) -> bytes:
    """Serialise `obj` the way every JSON file of this package is written (stable bytes)."""
    return (json.dumps(obj, indent=4, separators=(",", ": ")) + "\n").encode("utf-8")


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Write `data` to `path` so that readers see either the old file or the complete new one."""
    with atomic_path(path) as tmp_path:
        with open(tmp_path, "wb") as f:
            f.write(data)
        os.chmod(tmp_path, 0o644)  # mkstemp creates 0600; dataset files are meant to be shared


def write_json_atomic(path: str, obj: Any) -> None:
    """Write `obj` as JSON to `path` atomically."""
    write_bytes_atomic(path, dump_json(obj))
