"""The media library: uploads of each format, re-encoding (no metadata, at most 1200 px),
refusals with a form error (too big, wrong type, decompression bomb, missing alt text), the
public /media/<name> files, and delete only when unused."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from bulletin.core import media as library
from bulletin.extensions import db
from bulletin.models import IssueItem, Masthead, Media
from tests.conftest import csrf_token

GPS_IFD = 0x8825
MAKE = 0x010F


def image_bytes(fmt: str, size=(640, 480), *, exif: bool = False, frames: int = 1) -> bytes:
    """An image made here with Pillow, optionally with camera and GPS EXIF tags."""
    mode = "RGBA" if fmt in ("PNG", "WEBP") else "RGB"
    first = Image.new(mode, size, (200, 30, 30, 128) if mode == "RGBA" else (200, 30, 30))
    out = io.BytesIO()
    options: dict = {}
    if exif:
        tags = Image.Exif()
        tags[MAKE] = "SpyCam 3000"
        tags[GPS_IFD] = {1: "N", 2: (51.0, 28.0, 54.0), 3: "W", 4: (3.0, 10.0, 45.0)}
        options["exif"] = tags.tobytes()
    if frames > 1:
        rest = [Image.new(mode, size, (30, 30, 200)) for _ in range(frames - 1)]
        options.update(save_all=True, append_images=rest, duration=100, loop=0)
    first.save(out, fmt, **options)
    return out.getvalue()


def upload(client, data: bytes, *, filename="photo.bin", alt_cy="Llun", alt_en="A picture"):
    page = client.get("/editor/media")
    return client.post(
        "/editor/media",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "file": (io.BytesIO(data), filename),
            "alt_cy": alt_cy,
            "alt_en": alt_en,
        },
        content_type="multipart/form-data",
    )


def stored(app, media: Media) -> Image.Image:
    path = Path(app.config["MEDIA_DIR"]) / media.name
    return Image.open(io.BytesIO(path.read_bytes()))


@pytest.mark.parametrize(
    ("fmt", "stored_format", "content_type"),
    [
        ("PNG", "PNG", "image/png"),
        ("JPEG", "JPEG", "image/jpeg"),
        ("GIF", "PNG", "image/png"),
        ("WEBP", "PNG", "image/png"),  # with alpha: PNG, which every mail client shows
    ],
)
def test_each_format_is_uploaded_and_re_encoded(
    app, editor_client, fmt, stored_format, content_type
):
    response = upload(editor_client, image_bytes(fmt), filename=f"x.{fmt.lower()}")
    assert response.status_code == 303
    media = db.session.scalars(db.select(Media)).one()
    assert (media.content_type, media.width, media.height) == (content_type, 640, 480)
    assert (media.alt_cy, media.alt_en) == ("Llun", "A picture")
    assert stored(app, media).format == stored_format
    served = editor_client.get(f"/media/{media.name}")
    assert served.status_code == 200
    assert served.mimetype == content_type
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "max-age=31536000" in served.headers["Cache-Control"]
    assert served.data == (Path(app.config["MEDIA_DIR"]) / media.name).read_bytes()


def test_a_webp_without_transparency_becomes_a_jpeg(app):
    out = io.BytesIO()
    Image.new("RGB", (50, 40), (10, 120, 40)).save(out, "WEBP", quality=80)
    processed = library.process_image(out.getvalue(), max_pixels=10**7)
    assert processed.content_type == "image/jpeg"
    assert Image.open(io.BytesIO(processed.data)).format == "JPEG"


def test_exif_and_gps_are_stripped(app, editor_client):
    original = image_bytes("JPEG", exif=True)
    assert Image.open(io.BytesIO(original)).getexif()[MAKE] == "SpyCam 3000"  # the test is real
    assert upload(editor_client, original).status_code == 303
    reopened = stored(app, db.session.scalars(db.select(Media)).one())
    assert dict(reopened.getexif()) == {}
    assert "exif" not in reopened.info


def test_exif_is_gone_from_the_stored_bytes(app):
    processed = library.process_image(image_bytes("JPEG", exif=True), max_pixels=10**7)
    assert b"SpyCam" not in processed.data
    assert b"Exif" not in processed.data
    assert dict(Image.open(io.BytesIO(processed.data)).getexif()) == {}


def test_a_wide_image_is_scaled_to_1200_pixels(app, editor_client):
    assert upload(editor_client, image_bytes("PNG", size=(1600, 800))).status_code == 303
    media = db.session.scalars(db.select(Media)).one()
    assert (media.width, media.height) == (1200, 600)
    assert stored(app, media).size == (1200, 600)


def test_an_animated_gif_keeps_its_first_frame(app):
    processed = library.process_image(image_bytes("GIF", frames=3), max_pixels=10**7)
    still = Image.open(io.BytesIO(processed.data))
    assert still.format == "PNG"
    assert getattr(still, "n_frames", 1) == 1
    assert still.convert("RGB").getpixel((0, 0)) == (200, 30, 30)


def test_a_file_over_the_size_limit_is_refused_before_decoding(app, editor_client):
    app.config["MEDIA_MAX_BYTES"] = 2000
    response = upload(editor_client, image_bytes("PNG", size=(300, 300)) + b"\0" * 3000)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "larger than" in page and "aria-invalid" in page
    assert db.session.scalar(db.select(db.func.count()).select_from(Media)) == 0


@pytest.mark.parametrize(
    "data",
    [b"GIF89a but not really", b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"plain text"],
)
def test_a_file_that_is_not_an_accepted_image_is_refused(app, editor_client, data):
    response = upload(editor_client, data)
    assert response.status_code == 400
    assert "not a PNG, JPEG, GIF or WebP image" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Media)) == 0


def test_a_bmp_is_refused_though_pillow_reads_it(app, editor_client):
    out = io.BytesIO()
    Image.new("RGB", (20, 20)).save(out, "BMP")
    assert upload(editor_client, out.getvalue()).status_code == 400


def test_a_decompression_bomb_is_refused(app, editor_client):
    # 10,000 x 10,000 one-bit pixels: a small file that would decode to 100 million pixels.
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, "PNG", optimize=True)
    bomb = out.getvalue()
    assert len(bomb) < app.config["MEDIA_MAX_BYTES"]
    response = upload(editor_client, bomb)
    assert response.status_code == 400
    assert "too large to process" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Media)) == 0


def test_no_file_gets_a_form_error(app, editor_client):
    page = editor_client.get("/editor/media")
    response = editor_client.post(
        "/editor/media",
        data={"csrf_token": csrf_token(page.get_data(as_text=True)), "alt_cy": "a", "alt_en": "b"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "Choose an image file" in response.get_data(as_text=True)


@pytest.mark.parametrize(("alt_cy", "alt_en"), [("", "A picture"), ("Llun", ""), ("  ", " ")])
def test_alt_text_is_required_in_both_languages(app, editor_client, alt_cy, alt_en):
    response = upload(editor_client, image_bytes("PNG"), alt_cy=alt_cy, alt_en=alt_en)
    assert response.status_code == 400
    assert "alt text" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Media)) == 0


def test_the_same_image_twice_is_refused(app, editor_client):
    data = image_bytes("PNG")
    assert upload(editor_client, data).status_code == 303
    response = upload(editor_client, data)
    assert response.status_code == 400
    assert "already in the library" in response.get_data(as_text=True)


def test_the_welsh_upload_page_words_the_error_in_welsh(app, editor_client):
    editor_client.get("/editor/media?lang=cy")
    response = upload(editor_client, b"plain text")
    assert response.status_code == 400
    assert 'lang="cy"' in response.get_data(as_text=True)
    assert "not a PNG" not in response.get_data(as_text=True)


@pytest.mark.parametrize("name", ["nope.png", "../secret_key", "0" * 32 + ".svg", "x"])
def test_unknown_or_malformed_media_names_are_404(client, name):
    assert client.get(f"/media/{name}").status_code == 404


def test_alt_texts_can_be_edited(app, editor_client):
    upload(editor_client, image_bytes("PNG"))
    media = db.session.scalars(db.select(Media)).one()
    page = editor_client.get(f"/editor/media/{media.id}")
    token = csrf_token(page.get_data(as_text=True))
    refused = editor_client.post(
        f"/editor/media/{media.id}", data={"csrf_token": token, "alt_cy": "", "alt_en": "x"}
    )
    assert refused.status_code == 400
    saved = editor_client.post(
        f"/editor/media/{media.id}",
        data={"csrf_token": token, "alt_cy": "Logo coch", "alt_en": "A red logo"},
    )
    assert saved.status_code == 303
    db.session.refresh(media)
    assert (media.alt_cy, media.alt_en) == ("Logo coch", "A red logo")


def test_an_unused_image_is_deleted_with_its_file(app, editor_client):
    upload(editor_client, image_bytes("PNG"))
    media = db.session.scalars(db.select(Media)).one()
    path = Path(app.config["MEDIA_DIR"]) / media.name
    page = editor_client.get(f"/editor/media/{media.id}")
    response = editor_client.post(
        f"/editor/media/{media.id}/delete",
        data={"csrf_token": csrf_token(page.get_data(as_text=True))},
    )
    assert response.status_code == 303
    assert db.session.scalar(db.select(db.func.count()).select_from(Media)) == 0
    assert not path.exists()


def test_an_image_in_use_is_not_deleted(app, editor_client, make_issue):
    upload(editor_client, image_bytes("PNG"))
    media = db.session.scalars(db.select(Media)).one()
    issue = make_issue(items=[{"title_en": "News", "body_en": "Text"}])
    issue.items[0].image = media
    db.session.commit()
    page = editor_client.get(f"/editor/media/{media.id}")
    assert "in use" in page.get_data(as_text=True)
    editor_client.post(
        f"/editor/media/{media.id}/delete",
        data={"csrf_token": csrf_token(page.get_data(as_text=True))},
    )
    assert db.session.get(Media, media.id) is not None
    assert (Path(app.config["MEDIA_DIR"]) / media.name).exists()


def test_the_library_needs_a_sign_in(client):
    assert client.get("/editor/media").status_code in (302, 303)
    assert client.post("/editor/media").status_code in (302, 303, 400)


def test_the_news_form_and_item_page_choose_a_library_image(
    app, editor_client, make_issue, make_workshop
):
    upload(editor_client, image_bytes("PNG"))
    media = db.session.scalars(db.select(Media)).one()
    issue = make_issue(items=[make_workshop("Workshop")])
    page = editor_client.get(f"/editor/issues/{issue.id}/news/new")
    assert f'value="{media.id}"' in page.get_data(as_text=True)
    response = editor_client.post(
        f"/editor/issues/{issue.id}/news/new",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "title_en": "With a picture",
            "image": str(media.id),
        },
    )
    assert response.status_code == 303
    news = db.session.scalars(db.select(IssueItem).where(IssueItem.kind == "news")).one()
    assert news.image_id == media.id
    workshop_item = db.session.scalars(
        db.select(IssueItem).where(IssueItem.kind == "workshop")
    ).one()
    page = editor_client.get(f"/editor/issues/{issue.id}/items/{workshop_item.id}/image")
    token = csrf_token(page.get_data(as_text=True))
    bad = editor_client.post(
        f"/editor/issues/{issue.id}/items/{workshop_item.id}/image",
        data={"csrf_token": token, "image": "999999"},
    )
    assert bad.status_code == 400
    good = editor_client.post(
        f"/editor/issues/{issue.id}/items/{workshop_item.id}/image",
        data={"csrf_token": token, "image": str(media.id)},
    )
    assert good.status_code == 303
    db.session.refresh(workshop_item)
    assert workshop_item.image_id == media.id
    assert db.session.scalar(db.select(db.func.count()).select_from(Masthead)) == 0


def test_a_photo_stored_on_its_side_is_turned_upright_then_scaled(app):
    # Stored 4000 x 1600 with EXIF orientation 6 (turn 90°): upright it is 1600 x 4000.
    tags = Image.Exif()
    tags[0x0112] = 6
    out = io.BytesIO()
    Image.new("RGB", (4000, 1600), (10, 10, 10)).save(out, "JPEG", exif=tags.tobytes())
    processed = library.process_image(out.getvalue(), max_pixels=10**8)
    assert (processed.width, processed.height) == (1200, 3000)
    assert 0x0112 not in Image.open(io.BytesIO(processed.data)).getexif()


def test_an_unknown_media_storage_stops_the_app_starting(make_app):
    with pytest.raises(RuntimeError, match="MEDIA_STORAGE"):
        make_app(MEDIA_STORAGE="s3")


def test_a_request_over_max_content_length_gets_the_form_error(app, editor_client):
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    response = upload(editor_client, b"\xff" * 60_000)
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "larger than" in page and 'id="file-error"' in page
