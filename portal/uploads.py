"""Citizens' files: recognised by their content, stored under random names outside the web root.

Only PDF, JPEG and PNG are accepted, and only when the bytes say so: the declared content
type and the file name are ignored. Each type is walked structurally (PDF header and final
``%%EOF``; PNG chunks from IHDR to IEND with their CRCs; JPEG markers from SOI to EOI), and
images are also checked by Pillow. Renamed programs, archives and polyglots (a valid image
or PDF carrying a ZIP directory, a program or markup after its end marker) are refused.

A file is streamed to a temporary file in the upload folder (counting and hashing as it
goes), inspected there, then renamed to a random name when the caller stores it. Files
stored inside a transaction that rolls back are removed again; files of deleted rows are
removed only once the deletion has committed.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import secrets
import struct
import tempfile
import unicodedata
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import event

from portal.errors import ValidationFailed
from portal.extensions import db

log = logging.getLogger(__name__)

DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_DOSSIER_BYTES = 50 * 1024 * 1024
MAX_IMAGE_PIXELS = 50_000_000  # beyond this an "image" is a decompression bomb, not a scan
MAX_DISPLAY_NAME = 120
CHUNK = 64 * 1024

PDF, PNG, JPEG = "application/pdf", "image/png", "image/jpeg"
EXTENSIONS = {PDF: ".pdf", PNG: ".png", JPEG: ".jpg"}
_NAME_EXTENSIONS = {PDF: {".pdf"}, PNG: {".png"}, JPEG: {".jpg", ".jpeg", ".jpe", ".jfif"}}

# Programs and archives, by their first bytes: refused whatever the file is called.
_EXECUTABLE_MAGIC = (
    b"MZ",
    b"\x7fELF",
    b"#!",
    b"\xca\xfe\xba\xbe",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"\x00asm",
)
# Signs of a second file inside an image: a ZIP/JAR end-of-directory record, or markup.
_IMAGE_INTRUDERS = re.compile(rb"PK\x05\x06|<script|<html|<\?php|<!doctype", re.IGNORECASE)
_PDF_HEAD_INTRUDERS = re.compile(rb"<script|<html|<\?php|<!doctype", re.IGNORECASE)
_PDF_TRAILING_OK = b" \t\r\n\x00\x0c"

_NEW_FILES = "uploads_new_files"
_DOOMED_FILES = "uploads_doomed_files"


@dataclass
class StagedFile:
    """An uploaded file that passed inspection, waiting in a temporary file to be stored."""

    temp_path: Path
    size: int
    sha256: str
    content_type: str
    display_name: str


# ------------------------------------------------------------------------------ settings


def upload_dir() -> Path:
    """UPLOAD_DIR, by default ``<INSTANCE_DIR>/uploads``: never under the web root."""
    configured = current_app.config.get("UPLOAD_DIR")
    path = Path(configured) if configured else Path(current_app.config["INSTANCE_DIR"]) / "uploads"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def max_file_bytes() -> int:
    return int(current_app.config.get("UPLOAD_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES))


def max_dossier_bytes() -> int:
    return int(current_app.config.get("UPLOAD_MAX_DOSSIER_BYTES", DEFAULT_MAX_DOSSIER_BYTES))


def path_for(stored_name: str) -> Path:
    """Where a stored file lives. Stored names are ours (hex), never the citizen's.

    :raises ValueError: the name is not one this module made.
    """
    if not re.fullmatch(r"[0-9a-f]{32}", stored_name or ""):
        raise ValueError("not a stored file name")
    return upload_dir() / stored_name


# ---------------------------------------------------------------------------- file names


def display_name(unsafe_name: str | None, content_type: str) -> str:
    """A file name fit to show and to offer as a download name.

    Path parts (``../../etc/passwd.pdf`` → ``passwd.pdf``), control and direction-override
    characters and characters Windows refuses are dropped; Vietnamese letters are kept (NFC);
    the extension always matches the content, and the name is at most 120 characters.
    """
    name = unicodedata.normalize("NFC", unsafe_name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = re.sub(r'[<>:"|?*]', "", name)
    name = re.sub(r"\s+", " ", name).strip().lstrip(".").strip()
    stem, extension = os.path.splitext(name)
    if extension.lower() not in _NAME_EXTENSIONS[content_type]:
        stem, extension = name, EXTENSIONS[content_type]
    stem = stem.rstrip(". ")[: MAX_DISPLAY_NAME - len(extension)].rstrip(". ") or "tai-lieu"
    return stem + extension.lower()


# ---------------------------------------------------------------------------- inspection


def _unsupported() -> ValidationFailed:
    return ValidationFailed(_("Only PDF, JPEG and PNG files can be attached."), token="UnsupportedFileType")


def _unsafe() -> ValidationFailed:
    return ValidationFailed(
        _(
            "This file cannot be accepted: it is not a plain PDF, JPEG or PNG document. "
            "Scan or save the document again and attach the new file."
        ),
        token="UnsafeFile",
    )


def _damaged() -> ValidationFailed:
    return ValidationFailed(
        _("This file is damaged or incomplete. Save or scan it again and attach the new file."),
        token="DamagedFile",
    )


def inspect_bytes(data: bytes) -> str:
    """The content type of a PDF, PNG or JPEG file, judged by its content only.

    :raises ValidationFailed: tokens ``EmptyFile``, ``UnsafeFile`` (a program, an archive, a
        polyglot), ``UnsupportedFileType``, ``DamagedFile``.
    """
    if not data:
        raise ValidationFailed(_("The file is empty."), token="EmptyFile")
    if data.startswith(_EXECUTABLE_MAGIC):
        raise _unsafe()
    if data.startswith(b"%PDF-"):
        _check_pdf(data)
        content_type = PDF
    elif data.startswith(b"\x89PNG\r\n\x1a\n"):
        _check_png(data)
        content_type = PNG
    elif data.startswith(b"\xff\xd8\xff"):
        _check_jpeg(data)
        content_type = JPEG
    else:
        raise _unsupported()
    if content_type != PDF:
        if _IMAGE_INTRUDERS.search(data):
            raise _unsafe()
        _check_with_pillow(data, "PNG" if content_type == PNG else "JPEG")
    # A ZIP reader looks for its directory at the end: whatever the header says, a file it
    # can open is an archive (a JAR, an Office file) in disguise.
    if zipfile.is_zipfile(io.BytesIO(data)):
        raise _unsafe()
    return content_type


def _check_pdf(data: bytes) -> None:
    if _PDF_HEAD_INTRUDERS.search(data[:1024]):
        raise _unsafe()
    end = data.rfind(b"%%EOF")
    if end < 0:
        raise _damaged()
    trailing = data[end + 5 :]
    if trailing.strip(_PDF_TRAILING_OK):
        raise _unsafe()  # something appended after the end of the document
    if b"startxref" not in data[max(0, end - 1024) : end]:
        raise _damaged()
    # Where ZIP readers look for an archive's directory (its last 64 KiB).
    if b"PK\x05\x06" in data[-(65536 + 22) :]:
        raise _unsafe()


def _check_png(data: bytes) -> None:
    position, first = 8, True
    while True:
        if position + 12 > len(data):
            raise _damaged()  # ends before IEND
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        if length > 0x7FFFFFFF or not kind.isalpha() or position + 12 + length > len(data):
            raise _damaged()
        if first and (kind != b"IHDR" or length != 13):
            raise _damaged()
        first = False
        body = data[position + 4 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        if zlib.crc32(body) & 0xFFFFFFFF != crc:
            raise _damaged()
        position += 12 + length
        if kind == b"IEND":
            break
    if position != len(data):
        raise _unsafe()  # bytes after IEND


def _check_jpeg(data: bytes) -> None:
    size, position = len(data), 2
    while True:
        if position >= size or data[position] != 0xFF:
            raise _damaged()
        while position < size and data[position] == 0xFF:
            position += 1  # fill bytes
        if position >= size:
            raise _damaged()
        marker = data[position]
        position += 1
        if marker == 0xD9:  # EOI
            break
        if marker == 0xD8 or marker == 0x00:
            raise _damaged()
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            continue  # markers without a segment
        if position + 2 > size:
            raise _damaged()
        (length,) = struct.unpack(">H", data[position : position + 2])
        if length < 2 or position + length > size:
            raise _damaged()
        position += length
        if marker == 0xDA:  # SOS: entropy-coded data up to the next real marker
            while True:
                found = data.find(b"\xff", position)
                if found < 0 or found + 1 >= size:
                    raise _damaged()
                following = data[found + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    position = found + 2
                elif following == 0xFF:
                    position = found + 1
                else:
                    position = found
                    break
    if position != size:
        raise _unsafe()  # bytes after EOI


def _check_with_pillow(data: bytes, expected_format: str) -> None:
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format != expected_format:
                    raise _damaged()
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise ValidationFailed(
                        _("The image is too large in pixels. Scan it at a lower resolution."),
                        token="FileTooLarge",
                    )
                image.verify()
    except ValidationFailed:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationFailed(
            _("The image is too large in pixels. Scan it at a lower resolution."), token="FileTooLarge"
        ) from None
    except Exception:  # noqa: BLE001 - Pillow raises many kinds of error for broken files
        raise _damaged() from None


# ------------------------------------------------------------------------------- staging


def _too_large(limit: int) -> ValidationFailed:
    return ValidationFailed(_("The file is larger than %(size)s MiB.", size=mib(limit)), token="FileTooLarge")


def mib(value: int) -> str:
    return f"{value / (1024 * 1024):g}"


def stage(stream: BinaryIO, unsafe_filename: str | None, *, max_bytes: int | None = None) -> StagedFile:
    """Copy an upload to a temporary file in the upload folder and inspect it.

    The caller must either :func:`store` or :func:`discard` the result.

    :raises ValidationFailed: ``FileTooLarge`` (past ``max_bytes``, UPLOAD_MAX_FILE_BYTES by
        default), or any refusal of :func:`inspect_bytes`.
    """
    limit = max_file_bytes() if max_bytes is None else max_bytes
    handle, temporary = tempfile.mkstemp(dir=upload_dir(), prefix=".incoming-")
    temp_path = Path(temporary)
    try:
        digest, size = hashlib.sha256(), 0
        with os.fdopen(handle, "wb") as out:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        content_type = inspect_bytes(temp_path.read_bytes())
        return StagedFile(
            temp_path, size, digest.hexdigest(), content_type, display_name(unsafe_filename, content_type)
        )
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise


def discard(staged: StagedFile) -> None:
    staged.temp_path.unlink(missing_ok=True)


def store(staged: StagedFile) -> str:
    """Move a staged file to a new random name and return that name.

    The file is removed again if the current transaction rolls back.
    """
    directory = upload_dir()
    while True:
        stored_name = secrets.token_hex(16)
        final = directory / stored_name
        if not final.exists():
            break
    os.replace(staged.temp_path, final)
    final.chmod(0o600)
    db.session.info.setdefault(_NEW_FILES, []).append(final)
    return stored_name


def delete_after_commit(stored_name: str) -> None:
    """Remove a stored file once the transaction that deleted its row has committed."""
    db.session.info.setdefault(_DOOMED_FILES, []).append(path_for(stored_name))


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        log.warning("could not remove an upload", extra={"path": str(path)})


def _after_commit(session) -> None:  # noqa: ANN001
    session.info.pop(_NEW_FILES, None)
    for path in session.info.pop(_DOOMED_FILES, []):
        _unlink_quietly(path)


def _after_rollback(session, previous_transaction) -> None:  # noqa: ANN001
    if previous_transaction.nested:
        return
    for path in session.info.pop(_NEW_FILES, []):
        _unlink_quietly(path)
    session.info.pop(_DOOMED_FILES, None)


if not event.contains(db.session, "after_commit", _after_commit):
    event.listen(db.session, "after_commit", _after_commit)
    event.listen(db.session, "after_soft_rollback", _after_rollback)
