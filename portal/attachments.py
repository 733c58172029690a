"""Attachment checks and storage.

Files are accepted by their content (magic bytes via ``filetype``), never by the name the
reporter's device gave them, and stored under random names outside the web root.
"""

import hashlib
import os
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import filetype
from flask_babel import lazy_gettext as _l

from portal import scrub

ALLOWED_MIME = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.oasis.opendocument.text": "odt",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "video/mp4": "mp4",
}
ALLOWED_HUMAN = "JPEG, PNG, PDF, DOCX, ODT, MP3, M4A, MP4"


@dataclass
class IncomingFile:
    """A file received from the reporter, already read into memory and checked."""

    original_name: str
    data: bytes
    content_type: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def clean_filename(name: str) -> str:
    """A display name without path parts or control characters (kept only for staff)."""
    name = unicodedata.normalize("NFC", os.path.basename((name or "").replace("\\", "/")))
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:200] or "tep-dinh-kem"


def check_files(uploads, *, max_files: int, max_bytes: int, max_total: int):
    """Read and check uploaded files.

    ``uploads`` is a list of ``(filename, stream)``; empty file inputs are skipped.
    Returns ``(files, error)``: a list of :class:`IncomingFile` or a message for the reporter.

    The cheap checks (count, size, type) run on every file first; then each file's metadata
    is removed (:mod:`portal.scrub`), so what is returned, and later stored, is the cleaned
    file. A file that cannot be cleaned is refused rather than kept with its metadata.
    """
    files: list[IncomingFile] = []
    total = 0
    for filename, stream in uploads:
        if not filename:
            continue
        data = stream.read(max_bytes + 1)
        if not data:
            continue
        if len(files) >= max_files:
            return [], _l("Chỉ được gửi tối đa %(n)d tệp.", n=max_files)
        if len(data) > max_bytes:
            return [], _l(
                "Tệp “%(name)s” quá lớn: mỗi tệp tối đa %(mb)d MB.",
                name=clean_filename(filename),
                mb=max_bytes // (1024 * 1024),
            )
        total += len(data)
        if total > max_total:
            return [], _l(
                "Tổng dung lượng các tệp vượt quá %(mb)d MB.", mb=max_total // (1024 * 1024)
            )
        kind = filetype.guess(data)
        if kind is None or kind.mime not in ALLOWED_MIME:
            return [], _l(
                "Tệp “%(name)s” không thuộc loại được nhận (%(types)s).",
                name=clean_filename(filename),
                types=ALLOWED_HUMAN,
            )
        files.append(IncomingFile(clean_filename(filename), data, kind.mime))
    for incoming in files:
        try:
            incoming.data = scrub.scrub(incoming.content_type, incoming.data)
        except scrub.ScrubError as exc:
            return [], scrub_refusal(incoming.original_name, exc)
    return files, None


def scrub_refusal(name: str, error: "scrub.ScrubError"):
    """The reporter's message for a file whose metadata could not be removed."""
    if error.reason == "too_many_pixels":
        return _l(
            "Ảnh “%(name)s” quá lớn: tối đa khoảng %(mp)d triệu điểm ảnh. Vui lòng gửi ảnh nhỏ "
            "hơn.",
            name=name, mp=(scrub.max_image_pixels() or 0) // 1_000_000,
        )
    if error.reason == "too_large":
        return _l(
            "Tài liệu “%(name)s” quá lớn khi giải nén (tối đa %(mb)d MB). Vui lòng chia nhỏ tài "
            "liệu.",
            name=name, mb=scrub.MAX_ZIP_UNCOMPRESSED // (1024 * 1024),
        )
    if error.reason == "encrypted":
        return _l(
            "Tệp “%(name)s” được đặt mật khẩu nên không thể xoá thông tin ẩn trong tệp. Vui lòng "
            "gửi bản không đặt mật khẩu.",
            name=name,
        )
    return _l(
        "Tệp “%(name)s” bị hỏng hoặc không đọc được, nên không thể xoá thông tin ẩn trong tệp "
        "(như vị trí chụp, tên người soạn). Tệp chưa được nhận; vui lòng gửi bản khác.",
        name=name,
    )


class LocalFileStorage:
    """Attachments on the local disk under random names."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def save(self, data: bytes) -> str:
        """Write ``data`` and return its stored name; the write is atomic (temp + rename).

        A failed write (disk full…) raises the OSError and leaves nothing behind, not even
        the partial temporary file."""
        self.folder.mkdir(parents=True, exist_ok=True)
        name = secrets.token_hex(16)
        temp = self.folder / f".{name}.part"
        try:
            with open(temp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.folder / name)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return name

    def path(self, stored_name: str) -> Path:
        if not stored_name.isalnum():
            raise ValueError("invalid stored name")
        return self.folder / stored_name

    def delete(self, stored_name: str) -> None:
        self.path(stored_name).unlink(missing_ok=True)
