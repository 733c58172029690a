"""Metadata removal for attachments, before anything is stored.

A reporter's photo can carry the GPS position of their home, a document the name of the
person who wrote it, a recording the phone's model and the minute it was made. Every accepted
kind of file goes through one function here, plain bytes in and bytes out, and
:func:`scrub` picks the function by content type (the type already detected from the file's
content by :mod:`portal.attachments`).

A file that cannot be parsed is never passed through unchanged: :class:`ScrubError` is raised
and the caller refuses the file. What each function removes, and what is known to remain, is
listed in docs/security.md ("Attachments").

No Flask here: the functions are pure and tested on their own (tests/unit/test_scrub.py).
"""

import io
import re
import struct
import warnings
import zipfile

import defusedxml.ElementTree as SafeET
import filetype
import mutagen
import mutagen.apev2
import mutagen.id3
import mutagen.mp3
import mutagen.mp4
import pikepdf
from PIL import Image, ImageCms, ImageOps, JpegImagePlugin

# Office documents are zip files: refuse ones that expand beyond these (zip bombs).
MAX_ZIP_ENTRIES = 5_000
MAX_ZIP_UNCOMPRESSED = 100 * 1024 * 1024
# Every entry of a rewritten zip gets this timestamp (the earliest a zip can hold), so entry
# times do not tell when, or in which time zone, the document was last saved.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)

EXIF_ORIENTATION = 0x0112


class ScrubError(ValueError):
    """The file cannot be cleaned, so it must not be stored.

    ``reason`` is one of ``"unreadable"`` (damaged or not really that kind of file),
    ``"encrypted"`` (password-protected), ``"too_many_pixels"`` (an image over Pillow's
    decompression-bomb limit) or ``"too_large"`` (a document that expands too far).
    """

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def max_image_pixels() -> int | None:
    """The largest image accepted, in pixels: Pillow's decompression-bomb limit."""
    return Image.MAX_IMAGE_PIXELS


# --- Images -----------------------------------------------------------------------------------

def _open_image(data: bytes, kind: str) -> Image.Image:
    """Open and fully decode an image of ``kind`` ("JPEG" or "PNG"), refusing bombs."""
    try:
        with warnings.catch_warnings():
            # Above Pillow's limit Image.open only warns; we refuse (its hard limit is 2x).
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[kind])
            limit = max_image_pixels()
            if limit and image.width * image.height > limit:
                raise ScrubError("too_many_pixels", f"{image.width}x{image.height}")
            image.load()
    except ScrubError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ScrubError("too_many_pixels", str(exc)) from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, MemoryError) as exc:
        raise ScrubError("unreadable", f"{kind}: {exc}") from exc
    return image


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert pixels described by an embedded ICC profile to sRGB, so the profile (which can
    name the device or the person who made it) can be dropped without changing the colours.
    Other modes, or a profile littlecms cannot use, simply lose the profile."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(
            image, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
        ) or image
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation to the pixels, so the picture stays upright without it."""
    try:
        return ImageOps.exif_transpose(image) or image
    except (OSError, SyntaxError, ValueError, KeyError, TypeError, struct.error):
        return image  # unreadable EXIF: no orientation to apply, and it is dropped anyway


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(EXIF_ORIENTATION, 1))
    except (OSError, SyntaxError, ValueError, KeyError, TypeError, struct.error):
        return 1


def _reencode(data: bytes, kind: str, *, keep_orientation: bool) -> bytes:
    """Decode and encode again with no metadata at all.

    ``keep_orientation`` (used for pictures inside documents, whose layout was made for the
    picture as the editing program showed it) writes back an EXIF block holding only the
    orientation tag instead of turning the pixels.
    """
    original = _open_image(data, kind)
    orientation = _orientation(original) if keep_orientation else 1
    image = original if keep_orientation else _upright(original)
    image = _to_srgb(image)
    transparency = original.info.get("transparency")
    # A fresh copy with an empty info dict: Pillow's encoders fall back to ``info`` for some
    # chunks (the JPEG comment, the PNG ICC profile), so nothing of the original may remain.
    clean = image.copy()
    clean.info = {}
    params: dict = {}
    if orientation != 1:
        exif = Image.Exif()
        exif[EXIF_ORIENTATION] = orientation
        params["exif"] = exif.tobytes()
    out = io.BytesIO()
    try:
        if kind == "JPEG":
            if clean.mode not in ("L", "RGB", "CMYK"):
                clean = clean.convert("RGB")
            try:
                # Same quantisation tables and chroma subsampling as the original: about the
                # same size and quality, not a second lossy pass at some other setting.
                clean.save(out, "JPEG", qtables=original.quantization,
                           subsampling=JpegImagePlugin.get_sampling(original), **params)
            except (ValueError, OSError, TypeError, AttributeError):
                out = io.BytesIO()
                clean.save(out, "JPEG", quality=90, **params)
        else:
            if transparency is not None and clean.mode in ("1", "L", "P", "RGB", "I", "I;16"):
                params["transparency"] = transparency
            clean.save(out, "PNG", **params)
    except (OSError, ValueError, TypeError, MemoryError) as exc:
        raise ScrubError("unreadable", f"{kind} encode: {exc}") from exc
    return out.getvalue()


def scrub_jpeg(data: bytes) -> bytes:
    """A JPEG re-encoded upright, without EXIF (GPS, camera, times, thumbnail), XMP, IPTC,
    ICC profile, comments, extra MPO frames or bytes after the end of the image."""
    return _reencode(data, "JPEG", keep_orientation=False)


def scrub_png(data: bytes) -> bytes:
    """A PNG re-encoded upright, without text chunks (tEXt, zTXt, iTXt incl. XMP), eXIf, ICC
    profile, time or any other ancillary chunk; transparency is kept."""
    return _reencode(data, "PNG", keep_orientation=False)


def _scrub_embedded_image(data: bytes) -> bytes:
    """A JPEG or PNG found inside a document, cleaned but not turned; others unchanged."""
    kind = filetype.guess(data)
    if kind is not None and kind.mime == "image/jpeg":
        return _reencode(data, "JPEG", keep_orientation=True)
    if kind is not None and kind.mime == "image/png":
        return _reencode(data, "PNG", keep_orientation=True)
    return data


# --- PDF --------------------------------------------------------------------------------------

def _strip_jpeg_segments(data: bytes) -> bytes:
    """A JPEG stream without its APP1–APP15 (except Adobe APP14) and comment segments, without
    re-encoding: for pictures inside a PDF, where EXIF is never used for display.

    APP0 is kept only as a plain JFIF header (without a thumbnail); APP14 "Adobe" is kept
    because decoders need its colour-transform flag. Bytes after the end of the image go.
    """
    if data[:2] != b"\xff\xd8":
        raise ScrubError("unreadable", "JPEG inside PDF has no SOI")
    out = bytearray(b"\xff\xd8")
    pos, end = 2, len(data)
    while pos < end:
        if data[pos] != 0xFF:
            raise ScrubError("unreadable", "JPEG inside PDF: bad marker")
        while pos < end and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= end:
            break
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # EOI
            out += b"\xff\xd9"
            return bytes(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # stand-alone markers
            out += bytes((0xFF, marker))
            continue
        if pos + 2 > end:
            raise ScrubError("unreadable", "JPEG inside PDF: truncated segment")
        length = int.from_bytes(data[pos:pos + 2], "big")
        if length < 2 or pos + length > end:
            raise ScrubError("unreadable", "JPEG inside PDF: bad segment length")
        body = data[pos + 2:pos + length]
        if marker == 0xE0:
            if body[:5] == b"JFIF\x00" and len(body) >= 14:
                body = body[:12] + b"\x00\x00"  # same header, no thumbnail
                out += b"\xff\xe0" + (len(body) + 2).to_bytes(2, "big") + body
        elif 0xE1 <= marker <= 0xEF and not (marker == 0xEE and body[:5] == b"Adobe"):
            pass  # APPn: EXIF, XMP, ICC, IPTC, maker data
        elif marker == 0xFE:
            pass  # COM
        else:
            out += bytes((0xFF, marker)) + data[pos:pos + length]
        pos += length
        if marker == 0xDA:  # SOS: entropy-coded data runs to the next real marker
            start = pos
            while True:
                at = data.find(b"\xff", pos)
                if at < 0 or at + 1 >= end:
                    out += data[start:]
                    return bytes(out)
                following = data[at + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    pos = at + 2
                    continue
                out += data[start:at]
                pos = at
                break
    return bytes(out)


# Keys holding metadata in any PDF dictionary: XMP streams, application private data,
# modification dates.
_PDF_METADATA_KEYS = ("/Metadata", "/PieceInfo", "/LastModified")
# Keys of a markup annotation (a comment or highlight) that name its author or say when.
_PDF_ANNOTATION_KEYS = ("/T", "/M", "/CreationDate")


def _is_dct_only(stream: pikepdf.Stream) -> bool:
    filters = stream.get("/Filter")
    if isinstance(filters, pikepdf.Array):
        return len(filters) == 1 and filters[0] == pikepdf.Name.DCTDecode
    return filters == pikepdf.Name.DCTDecode


def scrub_pdf(data: bytes) -> bytes:
    """A PDF rewritten in full, keeping the pages, without the document information dictionary
    (author, title, creator, producer, dates), XMP metadata streams (document, page, image),
    earlier revisions kept by incremental saves, private application data, authors and dates
    of comments, EXIF/XMP inside embedded JPEG pictures, and a file ID linking it to the
    original; password restrictions are removed, a password to open it is refused."""
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError as exc:
        raise ScrubError("encrypted", "PDF needs a password") from exc
    except (pikepdf.PdfError, OSError, ValueError, RuntimeError) as exc:
        raise ScrubError("unreadable", f"PDF: {exc}") from exc
    try:
        with pdf:
            for key in ("/Info", "/ID"):
                if key in pdf.trailer:
                    del pdf.trailer[key]
            for obj in pdf.objects:
                if not isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
                    continue
                for key in _PDF_METADATA_KEYS:
                    if key in obj:
                        del obj[key]
                if (obj.get("/Type") == pikepdf.Name.Annot
                        and obj.get("/Subtype") not in (pikepdf.Name.Widget, pikepdf.Name.Link)
                        and "/FT" not in obj):
                    for key in _PDF_ANNOTATION_KEYS:
                        if key in obj:
                            del obj[key]
                if isinstance(obj, pikepdf.Stream) and _is_dct_only(obj):
                    raw = obj.read_raw_bytes()
                    clean = _strip_jpeg_segments(raw)
                    if clean != raw:
                        obj.write(clean, filter=obj.Filter, decode_parms=obj.get("/DecodeParms"))
            out = io.BytesIO()
            pdf.save(out, encryption=False, fix_metadata_version=False, deterministic_id=True)
    except ScrubError:
        raise
    except (pikepdf.PdfError, OSError, ValueError, RuntimeError, TypeError) as exc:
        raise ScrubError("unreadable", f"PDF: {exc}") from exc
    return out.getvalue()


# --- DOCX and ODT -----------------------------------------------------------------------------

def _read_zip(data: bytes) -> tuple[list[zipfile.ZipInfo], dict[str, bytes]]:
    """Every entry of a zip, read with limits against zip bombs and encrypted entries."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise ScrubError("unreadable", f"zip: {exc}") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise ScrubError("too_large", f"{len(infos)} zip entries")
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            raise ScrubError("unreadable", "duplicate zip entries")
        contents: dict[str, bytes] = {}
        total = 0
        for info in infos:
            if info.flag_bits & 0x1:
                raise ScrubError("encrypted", "encrypted zip entry")
            total += info.file_size
            if total > MAX_ZIP_UNCOMPRESSED:
                raise ScrubError("too_large", "zip expands too far")
            try:
                with archive.open(info) as entry:
                    content = entry.read(info.file_size + 1)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError,
                    NotImplementedError, RuntimeError) as exc:
                raise ScrubError("unreadable", f"zip entry: {exc}") from exc
            if len(content) != info.file_size:
                raise ScrubError("unreadable", "zip entry size mismatch")
            contents[info.filename] = content
    return infos, contents


def _write_zip(infos: list[zipfile.ZipInfo], contents: dict[str, bytes],
               first: str | None = None) -> bytes:
    """A new zip with the same entries in the same order (``first`` moved to the front and
    stored uncompressed, as ODF requires for "mimetype"), fixed timestamps, no extra fields,
    no comments."""
    order = [info.filename for info in infos]
    if first in contents:
        order.remove(first)
        order.insert(0, first)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in order:
            entry = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            entry.compress_type = zipfile.ZIP_STORED if name == first else zipfile.ZIP_DEFLATED
            entry.external_attr = (0o40755 << 16 | 0x10) if name.endswith("/") else 0o644 << 16
            archive.writestr(entry, contents[name])
    return out.getvalue()


def _scrub_zip_images(contents: dict[str, bytes]) -> None:
    for name, content in contents.items():
        if not name.endswith("/"):
            contents[name] = _scrub_embedded_image(content)


# Office Open XML package relationships pointing to property parts.
_OOXML_PROPERTY_RELS = {
    "core-properties": b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"></cp:coreProperties>""",  # noqa: E501
    "extended-properties": b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"></Properties>""",  # noqa: E501
    "custom-properties": b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"></Properties>""",  # noqa: E501
}
_OOXML_DEFAULT_PARTS = {
    "docProps/core.xml": "core-properties",
    "docProps/app.xml": "extended-properties",
    "docProps/custom.xml": "custom-properties",
}
_RELS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"

# WordprocessingML attributes naming who edited, and when: authors of comments and tracked
# changes (emptied: the attribute is required), initials and dates (optional, removed), and
# revision-session ids (optional, removed; they link edits made in the same session).
_DOCX_SUBS = [
    (re.compile(rb'(\s(?:w|w15):author=)(?:"[^"]*"|\'[^\']*\')'), rb'\1""'),
    (re.compile(rb'\s(?:w:initials|w:date|w16cex:dateUtc|w:rsid[A-Za-z]*)=(?:"[^"]*"|\'[^\']*\')'),
     b""),
    # Revision-session table and document variables in settings.xml (both optional).
    (re.compile(rb"<w:rsids>.*?</w:rsids>|<w:rsids\s*/>", re.S), b""),
    (re.compile(rb"<w:docVars>.*?</w:docVars>|<w:docVars\s*/>", re.S), b""),
    # people.xml: the account (e-mail, user id) behind each comment author.
    (re.compile(rb"<w15:presenceInfo\b[^>]*/>"), b""),
]
# The template path can hold the author's user name (C:\Users\<name>\...).
_DOCX_TEMPLATE = re.compile(rb'(<Relationship\b[^>]*?/attachedTemplate"[^>]*?\sTarget=)"[^"]*"')


def _ooxml_property_parts(contents: dict[str, bytes]) -> dict[str, str]:
    """Names of the property parts, from the package relationships and the usual names."""
    parts = {name: kind for name, kind in _OOXML_DEFAULT_PARTS.items() if name in contents}
    rels = contents.get("_rels/.rels")
    if rels is None:
        raise ScrubError("unreadable", "DOCX without package relationships")
    try:
        root = SafeET.fromstring(rels)
    except (SafeET.ParseError, ValueError) as exc:
        raise ScrubError("unreadable", f"DOCX relationships: {exc}") from exc
    for rel in root.iter(f"{_RELS_NS}Relationship"):
        kind = rel.get("Type", "").rsplit("/", 1)[-1]
        target = rel.get("Target", "").lstrip("/")
        if kind in _OOXML_PROPERTY_RELS and rel.get("TargetMode") != "External":
            if target in contents:
                parts[target] = kind
    return parts


def scrub_docx(data: bytes) -> bytes:
    """A DOCX rewritten without core, app and custom properties (kept as empty parts, so the
    package stays valid), without authors, initials, dates and revision ids of comments and
    tracked changes, document variables, the template path, and with embedded JPEG/PNG
    pictures cleaned. The body text, styles and layout are unchanged."""
    infos, contents = _read_zip(data)
    if "[Content_Types].xml" not in contents:
        raise ScrubError("unreadable", "DOCX without [Content_Types].xml")
    for name, kind in _ooxml_property_parts(contents).items():
        contents[name] = _OOXML_PROPERTY_RELS[kind]
    for name, content in contents.items():
        if name.startswith("word/") and name.endswith(".xml"):
            for pattern, replacement in _DOCX_SUBS:
                content = pattern.sub(replacement, content)
            contents[name] = content
        elif name.startswith("word/_rels/") and name.endswith(".rels"):
            contents[name] = _DOCX_TEMPLATE.sub(rb'\1"Normal.dotm"', content)
    _scrub_zip_images(contents)
    return _write_zip(infos, contents)


_ODF_OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_ODF_VERSION = re.compile(rb'office:version="([0-9.]{1,8})"')
# Authors and dates of comments (office:annotation) and tracked changes (office:change-info).
_ODT_SUBS = [
    (re.compile(rb"<dc:creator>[^<]*</dc:creator>"), b"<dc:creator></dc:creator>"),
    (re.compile(rb"<dc:date>[^<]*</dc:date>"), b"<dc:date>1970-01-01T00:00:00</dc:date>"),
    (re.compile(rb"<(meta:creator-initials|loext:sender-initials)>[^<]*</\1>"), rb"<\1></\1>"),
]


def scrub_odt(data: bytes) -> bytes:
    """An ODT rewritten with an empty meta.xml (no author, title, dates, editing time,
    statistics, generator, user-defined fields) and an empty settings.xml (printer, view
    state), without authors and dates of comments and tracked changes, and with embedded
    JPEG/PNG pictures and the thumbnail cleaned. The text itself is unchanged."""
    infos, contents = _read_zip(data)
    if not contents.get("mimetype", b"").startswith(b"application/vnd.oasis.opendocument"):
        raise ScrubError("unreadable", "ODT without mimetype")
    manifest = contents.get("META-INF/manifest.xml", b"")
    if b"encryption-data" in manifest:
        raise ScrubError("encrypted", "ODT is encrypted")
    for name, root in (("meta.xml", "office:document-meta"),
                       ("settings.xml", "office:document-settings")):
        if name in contents:
            found = _ODF_VERSION.search(contents[name])
            version = found.group(1).decode() if found else "1.2"
            body = "<office:meta/>" if name == "meta.xml" else ""
            contents[name] = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns:office="{_ODF_OFFICE_NS}" '
                f'office:version="{version}">{body}</{root}>'
            ).encode()
    for name, content in contents.items():
        if name.endswith(".xml") and name not in ("meta.xml", "settings.xml"):
            for pattern, replacement in _ODT_SUBS:
                content = pattern.sub(replacement, content)
            contents[name] = content
    _scrub_zip_images(contents)
    return _write_zip(infos, contents, first="mimetype")


# --- Audio and video --------------------------------------------------------------------------

def scrub_mp3(data: bytes) -> bytes:
    """An MP3 without ID3v1, ID3v2 or APEv2 tags (title, artist, comments, pictures, the
    recording app's fields); the audio frames are unchanged."""
    buffer = io.BytesIO(data)
    try:
        mutagen.mp3.MP3(buffer)  # proves there are MPEG audio frames
        # Each delete looks for its tag at the very end of the file, so an APEv2 tag written
        # after an ID3v1 tag (or the other way round) needs another round.
        for _round in range(4):
            before = buffer.getvalue()
            buffer.seek(0)
            mutagen.apev2.delete(buffer)
            buffer.seek(0)
            mutagen.id3.delete(buffer)
            if buffer.getvalue() == before:
                break
    except (mutagen.MutagenError, OSError, ValueError, struct.error, EOFError) as exc:
        raise ScrubError("unreadable", f"MP3: {exc}") from exc
    return buffer.getvalue()


# Containers walked to reach metadata; boxes turned into "free" wherever they are found.
_MP4_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"mvex",
                   b"moof", b"traf"}
_MP4_BLANK = {b"udta", b"meta"}
_MP4_FREE = {b"free", b"skip"}
_MP4_TIMED = {b"mvhd", b"tkhd", b"mdhd"}
# Handler boxes: the type is needed for playback, the free-text name (which a camera app or
# editor may fill with anything) is not.
_MP4_HANDLER = b"hdlr"
# Adobe XMP in a top-level or moov-level "uuid" box.
_XMP_UUID = bytes.fromhex("be7acfcb97a942e89c71999491e3afac")


def _blank_mp4_boxes(buffer: bytearray, start: int, end: int) -> None:
    """Within ``buffer[start:end]``, in place and without changing any size or offset: turn
    udta/meta/XMP boxes into zero-filled "free" boxes, zero the bytes of existing free boxes,
    zero the creation and modification times of the movie, tracks and media, and empty the
    handler names."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", buffer[pos:pos + 8])
        header = 8
        if size == 1:
            if pos + 16 > end:
                raise ScrubError("unreadable", "MP4: truncated box")
            size = struct.unpack(">Q", buffer[pos + 8:pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise ScrubError("unreadable", f"MP4: bad size for {kind!r}")
        body, box_end = pos + header, pos + size
        if kind in _MP4_BLANK or (kind == b"uuid" and buffer[body:body + 16] == _XMP_UUID):
            buffer[pos + 4:pos + 8] = b"free"
            buffer[body:box_end] = bytes(box_end - body)
        elif kind in _MP4_FREE:
            buffer[body:box_end] = bytes(box_end - body)
        elif kind in _MP4_CONTAINERS:
            _blank_mp4_boxes(buffer, body, box_end)
        elif kind in _MP4_TIMED and box_end - body >= 20:
            # Version 0: 32-bit creation and modification times; version 1: 64-bit.
            width = 16 if buffer[body] == 1 else 8
            if box_end - body >= 4 + width:
                buffer[body + 4:body + 4 + width] = bytes(width)
        elif kind == _MP4_HANDLER and box_end - body > 24:
            # version/flags, pre_defined, handler_type, 3 reserved words, then the name: all
            # zero bytes read as an empty name both as a C string (ISO) and a Pascal string
            # (QuickTime).
            buffer[body + 24:box_end] = bytes(box_end - body - 24)
        pos = box_end


def scrub_mp4(data: bytes) -> bytes:
    """An MP4 or M4A without iTunes-style tags (mutagen), and with every udta and meta box
    (QuickTime location ©xyz, camera make and model, Apple mdta keys, XMP) blanked into free
    space, and the movie, track and media creation times zeroed. Sample data in mdat is not
    touched."""
    buffer = io.BytesIO(data)
    try:
        media = mutagen.mp4.MP4(buffer)
        if media.tags is not None:
            buffer.seek(0)
            media.delete(buffer)
    except (mutagen.MutagenError, OSError, ValueError, struct.error, EOFError) as exc:
        raise ScrubError("unreadable", f"MP4: {exc}") from exc
    cleaned = bytearray(buffer.getvalue())
    _blank_mp4_boxes(cleaned, 0, len(cleaned))
    return bytes(cleaned)


SCRUBBERS = {
    "image/jpeg": scrub_jpeg,
    "image/png": scrub_png,
    "application/pdf": scrub_pdf,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": scrub_docx,
    "application/vnd.oasis.opendocument.text": scrub_odt,
    "audio/mpeg": scrub_mp3,
    "audio/mp4": scrub_mp4,
    "video/mp4": scrub_mp4,
}


def scrub(content_type: str, data: bytes) -> bytes:
    """``data`` without metadata, for a ``content_type`` detected from the content.

    Raises :class:`ScrubError` when the file cannot be cleaned, including for a type that has
    no scrubber (nothing is ever passed through unchanged).
    """
    scrubber = SCRUBBERS.get(content_type)
    if scrubber is None:
        raise ScrubError("unreadable", f"no scrubber for {content_type}")
    try:
        return scrubber(data)
    except ScrubError:
        raise
    except RecursionError as exc:
        raise ScrubError("unreadable", "nested too deeply") from exc
