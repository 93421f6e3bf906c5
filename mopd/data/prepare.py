"""Dataset preparation: download (HTTP with resume, or Google Drive), verify, extract, place.

Downloads go to `<dataset folder>/.downloads/`, through `mopd.files.download` (HTTP, resumed and
verified) or gdown (Google Drive). An archive is extracted into a staging folder beside it and its contents are then moved into the dataset
folder, so an interrupted extraction leaves the dataset folder as it was. Concurrent prepares of one
dataset (jobs of a study) take turns, and each fetches only what the ones before it left missing.
"""
from __future__ import annotations

import logging
import os
import shutil
import tarfile
import zipfile
from typing import Mapping

import gdown
import gdown.exceptions

from mopd.data.catalog import DatasetEntry, Source, get_entry
from mopd.data.check import check_dataset, format_report, item_present, missing_items
from mopd.files.atomic import atomic_path, file_lock
from mopd.files.download import ChecksumError, Transfer, download_url, verify_file

log = logging.getLogger(__name__)

DOWNLOAD_FOLDER = ".downloads"
# Concurrent prepares of one dataset take turns on `.prepare.lock` in its folder: partial downloads
# are appended to and archives extracted in place, which two processes must not do at once.
PREPARE_LOCK_NAME = "prepare"
_OVERRIDE_HINT = "if the file has moved, point prepare at a copy with --url NAME=URL or --mirror BASE_URL"


def download_gdrive(file_id: str, dest: str, *, size: int | None = None, md5: str = "", sha256: str = "") -> None:
    """Download a Google Drive file to `dest` with gdown (which resumes its own partial file), then verify."""
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    manual = (
        f"download it in a browser from https://drive.google.com/file/d/{file_id}/view and save it as {dest}, "
        f"or pass --url {os.path.basename(dest)}=URL"
    )
    try:
        result = gdown.download(id=file_id, output=dest, quiet=False, resume=True)
    except (gdown.exceptions.DownloadError, OSError) as err:
        raise ConnectionError(f"Google Drive download of id {file_id} failed ({err}); {manual}") from err
    if result is None or not os.path.isfile(dest):
        raise ConnectionError(f"Google Drive download of id {file_id} produced no file; {manual}")
    try:
        verify_file(dest, size=size, md5=md5, sha256=sha256)
    except ChecksumError as err:
        raise ChecksumError(f"Google Drive file {file_id} failed verification: {err}; delete {dest} and retry") from err


def _inside(base: str, path: str) -> bool:
    """Whether `path` (normalised) lies inside folder `base`."""
    base = os.path.realpath(base)
    return os.path.commonpath([base, os.path.realpath(path)]) == base


def _refuse_escaping(archive: str, dest_dir: str, member: str, target: str) -> None:
    """Raise ValueError when an archive member (or a link's target) would land outside `dest_dir`."""
    if os.path.isabs(target) or not _inside(dest_dir, os.path.join(dest_dir, target)):
        raise ValueError(
            f"archive {archive} holds {member!r}, which points outside the extraction folder {dest_dir}; "
            "refusing to extract it: the archive is damaged or not the expected file, delete it and download it again"
        )


def extract_archive(archive: str, dest_dir: str) -> None:
    """Extract a zip or tar (plain, gz, bz2, xz) into `dest_dir`, refusing members that escape it."""
    os.makedirs(dest_dir, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                _refuse_escaping(archive, dest_dir, name, name)
            zf.extractall(dest_dir)
        return
    if not tarfile.is_tarfile(archive):
        raise ValueError(
            f"{archive} is neither a zip nor a tar archive; the download is damaged or the URL served "
            "another file (an HTML page?): delete it and rerun prepare, with --url NAME=URL if the source moved"
        )
    with tarfile.open(archive, "r:*") as tf:
        members = tf.getmembers()
        for member in members:
            _refuse_escaping(archive, dest_dir, member.name, member.name)
            if member.issym():
                link_target = os.path.join(os.path.dirname(member.name), member.linkname)
                _refuse_escaping(archive, dest_dir, member.name, link_target)
            elif member.islnk():
                _refuse_escaping(archive, dest_dir, member.name, member.linkname)
        tf.extractall(dest_dir, members=members, filter="data")


def _content_root(source: Source, staging: str) -> str:
    """The folder inside an extracted archive whose entries belong in the dataset folder."""
    if source.archive_root is not None:
        root = os.path.join(staging, source.archive_root)
        if not os.path.isdir(root):
            raise ValueError(
                f"{source.name} has no folder {source.archive_root!r}; its top level holds "
                f"{sorted(os.listdir(staging))}: the download is not the expected archive"
            )
        return root
    entries = os.listdir(staging)
    tops = {item.split("/")[0] for item in source.provides}
    if len(entries) == 1 and os.path.isdir(os.path.join(staging, entries[0])) and entries[0] not in tops:
        return os.path.join(staging, entries[0])
    return staging


def _move_contents(root: str, target_dir: str) -> None:
    """Move every entry of `root` into `target_dir`; entries already there are kept (empty folders replaced)."""
    os.makedirs(target_dir, exist_ok=True)
    for entry in sorted(os.listdir(root)):
        destination = os.path.join(target_dir, entry)
        if os.path.isdir(destination) and not os.path.islink(destination) and not os.listdir(destination):
            os.rmdir(destination)
        if os.path.lexists(destination):
            log.info("keeping the existing %s", destination)
            continue
        shutil.move(os.path.join(root, entry), destination)


def _missing_in_extraction(source: Source, content_root: str) -> list[str]:
    """The source's items that the extracted content lacks (items are relative to the dataset folder)."""
    prefix = source.dest.rstrip("/") + "/" if source.dest else ""
    missing = []
    for item in source.provides:
        relative = item[len(prefix):] if item.startswith(prefix) else item
        if not item_present(content_root, relative or "./"):
            missing.append(item)
    return missing


def _extract_and_place(source: Source, archive: str, folder: str, staging: str) -> None:
    """Extract into `staging` (then the inner archive), check the expected items, move them into place."""
    log.info("extracting %s", archive)
    extract_archive(archive, staging)
    if source.inner_archive:
        inner = os.path.join(staging, source.inner_archive)
        if not os.path.isfile(inner):
            raise ValueError(
                f"{source.name} does not hold {source.inner_archive}: the download is not the expected archive; "
                f"delete {archive} and download it again"
            )
        log.info("extracting %s", source.inner_archive)
        staging = os.path.join(staging, ".inner")
        extract_archive(inner, staging)
    content_root = _content_root(source, staging)
    missing = _missing_in_extraction(source, content_root)
    if missing:
        raise ValueError(
            f"{source.name} does not hold {missing} where expected (its top level holds "
            f"{sorted(os.listdir(staging))}): the archive's layout differs from the expected one; nothing was "
            f"moved into {folder}; the download is kept at {archive}: extract it by hand"
        )
    _move_contents(content_root, os.path.join(folder, source.dest))


def _place_archive(source: Source, archive: str, folder: str) -> None:
    """Extract `archive` beside it, then move its contents into the dataset folder; the staging is removed."""
    staging = archive + ".extract"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _extract_and_place(source, archive, folder, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _resolve_url(source: Source, mirror: str, urls: Mapping[str, str]) -> str | None:
    """The HTTP URL for `source`: --url, else --mirror, else the catalog's; None: Google Drive or manual."""
    if source.name in urls:
        return urls[source.name]
    if mirror:
        return f"{mirror.rstrip('/')}/{source.name}"
    return source.url if source.public and source.url else None


def _check_overrides(entry: DatasetEntry, urls: Mapping[str, str]) -> None:
    """Reject --url names that are not files of this dataset."""
    names = [source.name for source in entry.sources]
    unknown = sorted(set(urls) - set(names))
    if unknown:
        raise KeyError(
            f"--url names {unknown} are not files of {entry.name}; valid names: {', '.join(names)}"
        )


def _obtain(source: Source, root: str, folder: str, url: str | None, transfer: Transfer) -> None:
    """Download, verify and place one source (or copy it from `copy_from` under the data root)."""
    target = os.path.join(folder, source.dest, source.name)
    local_copy = os.path.join(root, source.copy_from) if source.copy_from else ""
    if local_copy and os.path.isfile(local_copy):
        log.info("copying %s to %s", local_copy, target)
        with atomic_path(target) as tmp:
            shutil.copyfile(local_copy, tmp)
        return
    download = os.path.join(folder, DOWNLOAD_FOLDER, source.name)
    checks = {"size": source.size, "md5": source.md5, "sha256": source.sha256}
    if os.path.isfile(download):
        log.info("using the earlier download %s", download)
        try:
            verify_file(download, **checks)
        except ChecksumError as err:
            raise ChecksumError(f"the earlier download failed verification: {err}; delete it, rerun prepare") from err
    elif url is not None:
        log.info("downloading %s from %s", source.name, url)
        download_url(url, download, retries=transfer.retries, retry_wait=transfer.retry_wait,
                     timeout=transfer.timeout, hint=_OVERRIDE_HINT, **checks)
    else:
        log.info("downloading %s from Google Drive (id %s)", source.name, source.gdrive_id)
        download_gdrive(source.gdrive_id, download, **checks)
    if not source.is_archive:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.replace(download, target)
        return
    _place_archive(source, download, folder)


def _obtain_missing(
    source: Source, root: str, folder: str, url: str | None, transfer: Transfer, keep_archives: bool
) -> None:
    """Fetch and place one source that provides missing items, unless only the manual step can."""
    if url is None and not (source.public and source.gdrive_id):
        log.info("%s has no public source; see the manual step below", source.name)
        return
    _obtain(source, root, folder, url, transfer)
    download = os.path.join(folder, DOWNLOAD_FOLDER, source.name)
    if os.path.isfile(download) and not keep_archives:
        os.remove(download)


def prepare_dataset(
    root: str, name: str, *, mirror: str = "", urls: Mapping[str, str] | None = None,
    keep_archives: bool = False, transfer: Transfer = Transfer(),
) -> list[str]:
    """Download, verify and lay out every missing item of dataset `name` that can be fetched.

    Args:
        mirror: base URL that serves every file of the dataset by its catalog name.
        urls: catalog file name -> URL, overriding the catalog and the mirror for that file.
        keep_archives: keep downloaded archives in `<dataset folder>/.downloads/` after extraction.
    Returns:
        Full paths still missing (items needing a manual step); empty when the dataset is ready.
    """
    entry = get_entry(name)
    urls = dict(urls or {})
    _check_overrides(entry, urls)
    root = os.path.abspath(os.path.expanduser(root))
    folder = os.path.join(root, entry.folder)
    if not missing_items(folder, entry):
        log.info("%s is ready in %s; nothing to do", entry.name, folder)
        return []
    os.makedirs(folder, exist_ok=True)
    with file_lock(os.path.join(folder, PREPARE_LOCK_NAME)):  # one prepare per dataset at a time
        missing = missing_items(folder, entry)  # a prepare that held the lock before may have fetched them
        for source in entry.sources:
            if set(source.provides) & set(missing):
                _obtain_missing(source, root, folder, _resolve_url(source, mirror, urls), transfer, keep_archives)
        downloads = os.path.join(folder, DOWNLOAD_FOLDER)
        if os.path.isdir(downloads) and not os.listdir(downloads):
            os.rmdir(downloads)
    left = check_dataset(root, entry.name)
    log.log(logging.WARNING if left else logging.INFO, "%s", format_report(root, entry.name, left))
    return left
