"""The media library: what an upload must be, how it is re-encoded, where the bytes live.

An upload is read up to MEDIA_MAX_BYTES (a larger one is refused before anything decodes it),
opened only as PNG, JPEG, GIF or WebP, refused when it claims more than MEDIA_MAX_PIXELS
(a decompression bomb), then re-encoded by Pillow: turned upright by its EXIF orientation,
every other piece of metadata (EXIF, GPS, comments, text chunks) dropped, scaled down to at
most MAX_WIDTH pixels wide. Animated GIFs keep their first frame only: one still image is
what every mail client shows alike, and nothing moves that a reader cannot pause (WCAG
2.2.2). JPEG stays JPEG; everything else becomes PNG (so WebP, which some mail clients
still cannot show, never reaches a mail). The stored name is a digest of the stored bytes.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func, select

from bulletin.core.audit import record_audit
from bulletin.extensions import db
from bulletin.models import IssueItem, Masthead, Media

#: Widest stored image, in pixels (twice the email column, for sharp high-density screens).
MAX_WIDTH = 1200
#: What Pillow may decode: anything else (SVG, TIFF, BMP, PSD...) is refused unopened.
ACCEPTED_FORMATS = ("PNG", "JPEG", "GIF", "WEBP")
#: Longest alt text, in characters (the column's size).
MAX_ALT_LENGTH = 300
#: Stored names: a digest and the extension; nothing else is ever looked up in the storage.
NAME = re.compile(r"^[0-9a-f]{32}\.(png|jpg)$")
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg"}
#: The EXIF tag whose values 5 to 8 mean the picture is stored on its side.
ORIENTATION = 0x0112


class MediaRefused(ValueError):
    """An upload or a change the library refuses; str() says why and what to do."""


@dataclass(frozen=True)
class ProcessedImage:
    data: bytes
    extension: str  #: "png" or "jpg"
    width: int
    height: int

    @property
    def name(self) -> str:
        """The content-addressed file name."""
        return f"{hashlib.sha256(self.data).hexdigest()[:32]}.{self.extension}"

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.extension]


def read_capped(stream: IO[bytes], max_bytes: int) -> bytes:
    """At most `max_bytes` of an upload; one byte more is refused before any decoding."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise too_large(max_bytes)
    if not data:
        raise MediaRefused(_l("Choose an image file to upload."))
    return data


def too_large(max_bytes: int) -> MediaRefused:
    """The refusal of a file over `max_bytes` (also when the whole request was too large)."""
    return MediaRefused(
        _l(
            "The file is larger than %(mb)s MB. Make the image smaller (fewer pixels, or "
            "a JPEG for photographs) and upload it again.",
            mb=_megabytes(max_bytes),
        )
    )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g}"


def _not_an_image() -> MediaRefused:
    return MediaRefused(
        _l("The file is not a PNG, JPEG, GIF or WebP image. Save it in one of those formats.")
    )


def _too_many_pixels(max_pixels: int) -> MediaRefused:
    return MediaRefused(
        _l(
            "The image is too large to process (more than %(megapixels)s million pixels). "
            "Scale it down, for example to 2400 pixels wide, and upload it again.",
            megapixels=f"{max_pixels / 1_000_000:g}",
        )
    )


def _open(data: bytes, max_pixels: int, max_width: int) -> Image.Image:
    """The first frame, decoded; refuses other formats and decompression bombs."""
    Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow's own guard, at the same limit as ours
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
            if image.width * image.height > max_pixels:  # checked before decoding a pixel
                raise _too_many_pixels(max_pixels)
            if image.format == "JPEG":  # decode at 1/2, 1/4 or 1/8 scale when that is enough
                turned = image.getexif().get(ORIENTATION, 1) in (5, 6, 7, 8)
                image.draft(image.mode, (1, max_width) if turned else (max_width, 1))
            image.seek(0)
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels(max_pixels) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        if isinstance(exc, MediaRefused):
            raise
        raise _not_an_image() from exc
    return image


def process_image(data: bytes, *, max_pixels: int, max_width: int = MAX_WIDTH) -> ProcessedImage:
    """Re-encode an upload: upright, no metadata, at most `max_width` wide, PNG or JPEG."""
    image = _open(data, max_pixels, max_width)
    as_jpeg = image.format == "JPEG" or (image.format == "WEBP" and "A" not in image.getbands())
    image = ImageOps.exif_transpose(image)
    icc = image.info.get("icc_profile")
    transparency = image.info.get("transparency")
    if image.width > max_width:
        if image.mode not in ("RGB", "RGBA", "L", "LA"):
            image = image.convert("RGBA")
            transparency = None
        height = max(1, round(image.height * max_width / image.width))
        image = image.resize((max_width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    options: dict = {"icc_profile": icc} if icc else {}
    if as_jpeg:
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.info = {}
        image.save(out, "JPEG", quality=85, optimize=True, progressive=True, **options)
    else:
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
            image = image.convert("RGBA")
            transparency = None
        image.info = {}
        if transparency is not None and image.mode in ("P", "L", "RGB"):
            options["transparency"] = transparency
        image.save(out, "PNG", optimize=True, **options)
    return ProcessedImage(out.getvalue(), "jpg" if as_jpeg else "png", image.width, image.height)


class Storage(Protocol):
    """Where the library's files live. Names are already checked against NAME."""

    def put(self, name: str, data: bytes, content_type: str) -> None: ...

    def get(self, name: str) -> bytes | None: ...

    def delete(self, name: str) -> None: ...


class FilesystemStorage:
    """Files in one folder (MEDIA_DIR, default <instance>/media), written atomically."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def put(self, name: str, data: bytes, content_type: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, self.root / name)  # readers see the whole file or none
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, name: str) -> bytes | None:
        try:
            return (self.root / name).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, name: str) -> None:
        (self.root / name).unlink(missing_ok=True)


#: MEDIA_STORAGE values and how each is built from the app config.
STORAGES = {"filesystem": lambda config: FilesystemStorage(config["MEDIA_DIR"])}


def storage() -> Storage:
    """The configured storage (MEDIA_STORAGE)."""
    kind = current_app.config["MEDIA_STORAGE"]
    if kind not in STORAGES:
        raise RuntimeError(f"MEDIA_STORAGE={kind!r}: choose one of {', '.join(STORAGES)}")
    return STORAGES[kind](current_app.config)


def check_alt(alt_cy: str | None, alt_en: str | None) -> tuple[str, str]:
    """Both alt texts, trimmed; refuses a missing one."""
    cy, en = (alt_cy or "").strip(), (alt_en or "").strip()
    if not cy or not en:
        raise MediaRefused(
            _l("Describe the image in both Welsh and English: readers who cannot see it hear this.")
        )
    return cy[:MAX_ALT_LENGTH], en[:MAX_ALT_LENGTH]


def add_media(data: bytes, *, filename: str | None, alt_cy: str, alt_en: str, editor=None) -> Media:
    """Re-encode an upload, store it and add it to the library. The caller commits."""
    cy, en = check_alt(alt_cy, alt_en)
    processed = process_image(data, max_pixels=current_app.config["MEDIA_MAX_PIXELS"])
    if db.session.scalar(select(Media).where(Media.name == processed.name)) is not None:
        raise MediaRefused(_l("This image is already in the library."))
    storage().put(processed.name, processed.data, processed.content_type)
    media = Media(
        name=processed.name,
        content_type=processed.content_type,
        width=processed.width,
        height=processed.height,
        size_bytes=len(processed.data),
        alt_cy=cy,
        alt_en=en,
        original_filename=os.path.basename(filename or "")[-200:] or None,
        uploaded_by_id=getattr(editor, "id", None),
    )
    db.session.add(media)
    db.session.flush()
    record_audit("media.upload", media, detail={"name": media.name}, editor=editor)
    return media


def update_alt(media: Media, alt_cy: str, alt_en: str) -> None:
    """Change an image's alt texts. The caller commits."""
    media.alt_cy, media.alt_en = check_alt(alt_cy, alt_en)
    record_audit("media.update", media)


def uses_of(media: Media) -> int:
    """How many issue items and mastheads show the image."""
    items = db.session.scalar(select(func.count()).where(IssueItem.image_id == media.id))
    logos = db.session.scalar(select(func.count()).where(Masthead.logo_id == media.id))
    return int(items or 0) + int(logos or 0)


def delete_media(media: Media) -> str:
    """Take an unused image out of the library; returns its name, for discard_file after the
    caller commits (so a failed commit never leaves a row without its file)."""
    if uses_of(media):
        raise MediaRefused(
            _l("This image is in use (in an issue or the masthead). Remove it there first.")
        )
    name = media.name
    record_audit("media.delete", media, detail={"name": name})
    db.session.delete(media)
    db.session.flush()
    return name


def discard_file(name: str) -> None:
    """Remove a deleted image's file from the storage."""
    if NAME.match(name):
        storage().delete(name)


def read_file(name: str) -> tuple[bytes, str] | None:
    """A stored file and its content type, or None (an unknown or malformed name)."""
    if not NAME.match(name):
        return None
    data = storage().get(name)
    if data is None:
        return None
    return data, CONTENT_TYPES[name.rsplit(".", 1)[1]]


def library():
    """A query for the library, newest first."""
    return select(Media).order_by(Media.created_at.desc(), Media.id.desc())


def image_choices(lang: str) -> list[tuple[str, str]]:
    """(id, alt text) of every image, for a form's select; the first is "no image"."""
    rows = db.session.scalars(library())
    return [(str(m.id), f"{m.alt(lang)} ({m.width}×{m.height})") for m in rows]
