"""Files sent through the public form lose their metadata before they are stored: a photo's
GPS position and a document's author never reach the disk, and what staff download is the
cleaned file. A file that cannot be cleaned is refused, with nothing stored."""

import io
import zipfile
from pathlib import Path

import pikepdf
from PIL import ExifTags, Image
from sqlalchemy import select

from portal.extensions import db
from portal.reports.models import Attachment
from tests.functional.test_bad_input import JPEG_HEAD, assert_refused, submit
from tests.helpers import csrf_token, file_report, open_case
from tests.unit.test_scrub import (
    AUTHOR,
    BODY_TEXT,
    OLD_AUTHOR,
    PHONE,
    docx_bytes,
    no_metadata_in,
    photo_jpeg,
    photo_pdf,
    screenshot_png,
)


def stored_files(app) -> list[bytes]:
    """What is on the disk under the upload folder."""
    return [path.read_bytes() for path in Path(app.config["UPLOAD_FOLDER"]).iterdir()]


def downloads(app, staff) -> list[bytes]:
    """Every attachment as the triage team downloads it."""
    triage = staff("triage")
    with app.app_context():
        ids = db.session.scalars(select(Attachment.id).order_by(Attachment.id)).all()
    files = []
    for attachment_id in ids:
        response = triage.get(f"/staff/files/{attachment_id}")
        assert response.status_code == 200
        files.append(response.get_data())
    return files


def test_photo_filed_through_the_form_is_stored_without_exif_or_gps(app, client, staff):
    photo = photo_jpeg(orientation=6, size=(64, 48))
    exif = Image.open(io.BytesIO(photo)).getexif()
    assert exif.get_ifd(ExifTags.IFD.GPSInfo) and exif[ExifTags.Base.Model] == PHONE

    file_report(client, attachments=[(io.BytesIO(photo), "IMG_0042.jpg")])

    (on_disk,) = stored_files(app)
    assert b"Exif\x00\x00" not in on_disk and b"GPS" not in on_disk
    assert no_metadata_in(on_disk, PHONE, AUTHOR, "2024:05:01")
    (received,) = downloads(app, staff)
    picture = Image.open(io.BytesIO(received))
    assert picture.format == "JPEG" and len(picture.getexif()) == 0
    assert not picture.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert picture.size == (48, 64)  # turned upright as the phone showed it
    assert not {"exif", "xmp", "icc_profile", "comment"} & set(picture.info)
    with app.app_context():
        attachment = db.session.scalar(select(Attachment))
        assert attachment.content_type == "image/jpeg"
        assert attachment.original_name == "IMG_0042.jpg"


def test_docx_with_an_author_name_comes_out_without_it(app, client, staff):
    file_report(client, attachments=[(io.BytesIO(docx_bytes()), "bien-ban.docx")])

    (received,) = downloads(app, staff)
    with zipfile.ZipFile(io.BytesIO(received)) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    assert no_metadata_in(b"".join(parts.values()), AUTHOR, OLD_AUTHOR, "NV-0042", "nguyenvanan")
    assert b"<dc:creator>" not in parts["docProps/core.xml"]
    assert BODY_TEXT.encode() in parts["word/document.xml"]
    photo = Image.open(io.BytesIO(parts["word/media/image1.jpeg"]))
    assert not photo.getexif().get_ifd(ExifTags.IFD.GPSInfo)


def test_pdf_and_a_reply_screenshot_are_cleaned_too(app, client, staff):
    code = file_report(client, attachments=[(io.BytesIO(photo_pdf()), "bien-ban.pdf")])
    open_case(client, code)
    response = client.post(
        "/ho-so",
        data={"csrf_token": csrf_token(client, "/ho-so"), "text": "Ảnh chụp màn hình tin nhắn.",
              "attachments": [(io.BytesIO(screenshot_png()), "tin-nhan.png")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302

    pdf_file, screenshot = downloads(app, staff)
    with pikepdf.open(io.BytesIO(pdf_file)) as pdf:
        assert len(pdf.pages) == 2 and "/Info" not in pdf.trailer and "/Metadata" not in pdf.Root
    assert no_metadata_in(pdf_file, AUTHOR, PHONE)
    picture = Image.open(io.BytesIO(screenshot))
    assert "Author" not in picture.info and len(picture.getexif()) == 0
    assert no_metadata_in(screenshot, AUTHOR)


def test_a_damaged_photo_is_refused_with_a_clear_message(app, client):
    damaged = JPEG_HEAD + b"\x00" * 500  # looks like a JPEG, holds no picture
    response = submit(client, attachments=[(io.BytesIO(screenshot_png()), "anh-tot.png"),
                                           (io.BytesIO(damaged), "anh-hong.jpg")])
    assert_refused(app, response,
                   "Tệp “anh-hong.jpg” bị hỏng hoặc không đọc được, nên không thể xoá thông tin "
                   "ẩn trong tệp (như vị trí chụp, tên người soạn). Tệp chưa được nhận; vui lòng "
                   "gửi bản khác.")


def test_an_image_with_too_many_pixels_is_refused(app, client):
    bomb = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(bomb, "PNG")  # small file, 100 megapixels
    response = submit(client, attachments=[(io.BytesIO(bomb.getvalue()), "anh-lon.png")])
    assert_refused(app, response,
                   "Ảnh “anh-lon.png” quá lớn: tối đa khoảng 89 triệu điểm ảnh. Vui lòng gửi ảnh "
                   "nhỏ hơn.")


def test_a_password_protected_pdf_is_refused(app, client):
    with pikepdf.open(io.BytesIO(photo_pdf())) as pdf:
        locked = io.BytesIO()
        pdf.save(locked, encryption=pikepdf.Encryption(user="mat-khau", owner="mat-khau"))
    response = submit(client, attachments=[(io.BytesIO(locked.getvalue()), "khoa.pdf")])
    assert_refused(app, response,
                   "Tệp “khoa.pdf” được đặt mật khẩu nên không thể xoá thông tin ẩn trong tệp. "
                   "Vui lòng gửi bản không đặt mật khẩu.")
