"""Download the original dataset releases and verify them byte for byte.

Usage::

    python -m benchmark fetch e2e --dest DATA_DIR     # then: export BENCHMARK_DATA_DIR=DATA_DIR

or from Python: ``fetch_e2e(Path("data"))`` writes ``data/e2e/{trainset,devset,testset_w_refs}.csv``.

Only needed on a machine with network access; the test suite never downloads anything.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from benchmark.errors import FetchError

log = logging.getLogger(__name__)

# The official release zip of tuetschek/e2e-dataset (its comment names commit 6d00a030).
E2E_RELEASE_URL = (
    "https://github.com/tuetschek/e2e-dataset/releases/download/v1.0.0/e2e-dataset.zip"
)
# Fallback for a file the zip does not hold: the same blob from the repository at a pinned commit
# (data/README.md §1: devset.csv and testset_w_refs.csv were taken from this commit).
E2E_RAW_URL = (
    "https://raw.githubusercontent.com/tuetschek/e2e-dataset/"
    "ab0d967dd5729ce455ef14ba9ffafc456a335264/"
)

# git blob sha1 of the original files (tuetschek/e2e-dataset; trainset.csv from the v1.0.0 release
# zip). Used to verify a download byte for byte.
E2E_GIT_BLOBS = {
    "trainset.csv": "fa3a5e1124d2aa0d768881e38f8ee73e63d5880d",
    "devset.csv": "c45950a0771c769d787a33fdf56439cb890005d7",
    "testset_w_refs.csv": "86733864c96dc18cbaa5f18042356296ef679302",
}

DOWNLOAD_TIMEOUT_S = 120.0  # the zip is a few MB; a stalled connection should fail, not hang


def git_blob_sha1(data: bytes) -> str:
    """The git blob hash of a file's bytes (what `git hash-object FILE` prints)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def fetch_e2e(
    dest: str | os.PathLike[str],
    url: str = E2E_RELEASE_URL,
    raw_url: str | None = E2E_RAW_URL,
    timeout: float = DOWNLOAD_TIMEOUT_S,
) -> dict[str, Path]:
    """Download the E2E release into `dest/e2e/` and verify every file's git blob hash.

    Files already present with the right hash are kept and not downloaded again. A file missing
    from the zip is taken from `raw_url + name` (skipped when `raw_url` is None). Nothing is written
    unless it verifies, so a failed fetch never leaves a half-written or wrong file behind.

    Args:
        dest: the data directory (the one later passed as --data-dir / BENCHMARK_DATA_DIR).
        url: the release zip; a parameter so that tests can use a local ``file://`` zip.
        raw_url: base URL of single files, used for files the zip lacks.
        timeout: seconds before a stalled download is abandoned.

    Returns:
        file name -> path of the verified file.

    Raises:
        FetchError: the download failed, the zip is unreadable, or a file has the wrong hash.
    """
    folder = Path(dest) / "e2e"
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    missing = [name for name in E2E_GIT_BLOBS if not _verified(folder / name)]
    for name in E2E_GIT_BLOBS:
        if name not in missing:
            log.info("%s already present and verified", folder / name)
            written[name] = folder / name
    if not missing:
        return written

    archive = _read_zip(_download(url, timeout), url)
    for name in missing:
        if name in archive:
            data, origin = archive[name], f"{url} ({name})"
        elif raw_url is not None:
            origin = raw_url + name
            log.info("%s is not in the release zip; downloading %s", name, origin)
            data = _download(origin, timeout)
        else:
            raise FetchError(f"{url} holds no {name}, and no fallback URL was given")
        written[name] = _write_verified(folder / name, data, origin)
    return written


def _verified(path: Path) -> bool:
    return path.is_file() and git_blob_sha1(path.read_bytes()) == E2E_GIT_BLOBS[path.name]


def _download(url: str, timeout: float) -> bytes:
    log.info("downloading %s", url)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise FetchError(
            f"could not download {url}: {reason}; check the network connection, or copy "
            f"trainset.csv, devset.csv and testset_w_refs.csv into DATA_DIR/e2e/ by hand"
        ) from error


def _read_zip(data: bytes, url: str) -> dict[str, bytes]:
    """Base name -> content, for the E2E files the zip holds (at any folder depth)."""
    with tempfile.TemporaryFile() as handle:
        handle.write(data)
        handle.seek(0)
        try:
            with zipfile.ZipFile(handle) as archive:
                members: dict[str, bytes] = {}
                for info in archive.infolist():
                    path = PurePosixPath(info.filename)
                    # macOS archivers add __MACOSX/._trainset.csv resource forks; skip them.
                    if path.name in E2E_GIT_BLOBS and "__MACOSX" not in path.parts:
                        members[path.name] = archive.read(info)
        except zipfile.BadZipFile as error:
            raise FetchError(f"{url} is not a valid zip file ({error})") from error
    return members


def _write_verified(path: Path, data: bytes, origin: str) -> Path:
    found = git_blob_sha1(data)
    if found != E2E_GIT_BLOBS[path.name]:
        raise FetchError(
            f"{origin}: git blob {found} differs from the original {path.name} "
            f"({E2E_GIT_BLOBS[path.name]}); the download is corrupt or a different release"
        )
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(data)
    os.replace(partial, path)  # atomic: readers never see a half-written file
    log.info("wrote %s (git blob %s)", path, found)
    return path
