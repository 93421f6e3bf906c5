"""Checksummed HTTP downloads that resume: the one downloader of datasets and CLIP weights.

A download is written to `<dest>.part` and continued with a `Range` request when interrupted; a
server that ignores `Range` gets a clean restart. Only a verified download loses its `.part`
suffix, so a failed check never replaces a good file.
"""
from __future__ import annotations

import http.client
import logging
import os
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from tqdm import tqdm

from mopd.files.io import file_digest

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
_NETWORK_ERRORS = (http.client.HTTPException, urllib.error.URLError, ConnectionError, TimeoutError)


@dataclass(frozen=True)
class Transfer:
    """How HTTP downloads behave: retries (each resuming the partial file), wait between them, socket timeout."""

    retries: int = 3
    retry_wait: float = 2.0  # seconds
    timeout: float = 60.0  # seconds without data before a read fails


class ChecksumError(ValueError):
    """A downloaded file whose size or digest differs from the catalog's."""


def verify_file(path: str, *, size: int | None = None, md5: str = "", sha256: str = "") -> None:
    """Check a file's size and digests against the expected ones; a mismatch raises ChecksumError."""
    actual_size = os.path.getsize(path)
    if size is not None and actual_size != size:
        raise ChecksumError(f"size mismatch for {path}: expected {size} bytes, got {actual_size}")
    for algorithm, expected in (("md5", md5), ("sha256", sha256)):
        if expected:
            actual = file_digest(path, algorithm)
            if actual != expected.lower():
                raise ChecksumError(f"{algorithm} mismatch for {path}: expected {expected.lower()}, got {actual}")


def _content_range(header: str | None) -> tuple[int | None, int | None]:
    """(first byte, total size) from a Content-Range header such as "bytes 10-99/100" or "bytes */100"."""
    match = re.fullmatch(r"bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)", (header or "").strip())
    if match is None:
        return None, None
    start, total = match.groups()
    return (int(start) if start else None), (int(total) if total != "*" else None)


def _stream(response: http.client.HTTPResponse, part: str, offset: int, total: int | None) -> None:
    """Append the response body to `part` (truncated first when offset is 0), with a progress bar."""
    with open(part, "ab" if offset else "wb") as f, tqdm(
        total=total, initial=offset, unit="B", unit_scale=True, desc=os.path.basename(part), disable=None,
    ) as bar:
        for block in iter(lambda: response.read(_CHUNK), b""):
            f.write(block)
            bar.update(len(block))
        written = f.tell()
    if total is not None and written < total:
        raise http.client.IncompleteRead(b"", total - written)


def _fetch_to_part(url: str, part: str, size: int | None, timeout: float) -> None:
    """Bring `part` to the full file: continue it with a Range request, or restart when that fails."""
    offset = os.path.getsize(part) if os.path.exists(part) else 0
    if size is not None and offset == size:
        return
    if size is not None and offset > size:
        log.warning("%s is larger than the expected %d bytes; downloading it again", part, size)
        offset = 0
    headers = {"User-Agent": "mopd-data"}
    if offset:
        log.info("resuming %s at byte %d", part, offset)
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code != 416 or not offset:
            raise
        total = _content_range(err.headers.get("Content-Range"))[1]
        err.close()
        if total == offset:
            return
        log.warning("%s refused to resume %s at byte %d; downloading it again", url, part, offset)
        os.remove(part)
        return _fetch_to_part(url, part, size, timeout)
    with response:
        length = response.headers.get("Content-Length")
        if offset and response.status == 206:
            start, total = _content_range(response.headers.get("Content-Range"))
            if start != offset:
                raise http.client.HTTPException(f"{url} resumed at byte {start}, not at the requested {offset}")
        else:
            if offset:
                log.info("%s ignores Range requests; restarting %s from the beginning", url, part)
            offset = 0
            total = int(length) if length is not None else None
        _stream(response, part, offset, total)


def download_url(
    url: str, dest: str, *, size: int | None = None, md5: str = "", sha256: str = "",
    retries: int = 3, retry_wait: float = 2.0, timeout: float = 60.0, hint: str = "",
) -> None:
    """Download `url` to `dest` through `dest + ".part"`, resuming interrupted transfers, then verify.

    A network failure is retried `retries` times, each resuming the partial file; when they are used
    up, the partial file stays for the next run. A failed verification keeps the partial file too.
    `hint` ends the error messages (what the caller's user can do instead).
    """
    suffix = f"; {hint}" if hint else ""
    part = dest + ".part"
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    for attempt in range(retries + 1):
        try:
            _fetch_to_part(url, part, size, timeout)
            break
        except urllib.error.HTTPError as err:
            raise ConnectionError(f"{url} answered HTTP {err.code} {err.reason}{suffix}") from err
        except _NETWORK_ERRORS as err:
            kept = os.path.getsize(part) if os.path.exists(part) else 0
            if attempt == retries:
                raise ConnectionError(
                    f"download of {url} failed after {retries + 1} attempt(s) ({err!r}); the {kept} bytes received "
                    f"are kept in {part}, so running the same command again resumes it{suffix}"
                ) from err
            log.warning("download of %s interrupted at byte %d (%r); resuming (attempt %d of %d)",
                        url, kept, err, attempt + 2, retries + 1)
            time.sleep(retry_wait)
    try:
        verify_file(part, size=size, md5=md5, sha256=sha256)
    except ChecksumError as err:
        raise ChecksumError(
            f"download of {url} failed verification: {err}. The file is kept at {part}; delete it and run the "
            f"same command again to download it again{suffix}"
        ) from err
    os.replace(part, dest)
