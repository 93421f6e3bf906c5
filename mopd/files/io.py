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


class DamagedJSONError(ValueError):
    """A JSON file that cannot be read back: not UTF-8 text, not JSON, or not the shape it should have."""

    def __init__(self, path: str, problem: str, fix: str) -> None:
        super().__init__(f"{path} is {problem}; the file is damaged: {fix}")
        self.path = path
        self.problem = problem  # e.g. "not valid JSON (Expecting value: line 1 column 1 (char 0))"


def read_json(path: str, fix: str = "delete it, then rebuild or download it") -> Any:
    """Load a JSON file; one that is not UTF-8 JSON raises DamagedJSONError naming it, with `fix`."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise DamagedJSONError(path, f"not UTF-8 text ({err})", fix) from err
    except json.JSONDecodeError as err:
        raise DamagedJSONError(path, f"not valid JSON ({err})", fix) from err


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
