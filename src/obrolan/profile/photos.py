"""Profile photos: decoded and re-encoded so that nothing but the pixels is kept (F1, R6).

A photo straight from a phone carries EXIF (often the GPS position where it was taken,
the camera, the time), XMP and ICC comments. Re-encoding the pixels into a new image
drops them all: only what the picture shows is stored and served. CPU work, so the
service runs it in a thread.
"""

from __future__ import annotations

import io
from typing import Final

from PIL import Image, ImageOps, UnidentifiedImageError

from obrolan.errors import Invalid, PayloadTooLarge, UnsupportedMediaType

# The media types a photo may be sent as, and the decoder each allows.
ACCEPTED_TYPES: Final = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
STORED_TYPE: Final = "image/webp"
# Large enough for a profile picture on any screen; small enough to serve often.
MAX_SIDE: Final = 1024
# A 50-megapixel phone photo passes; a small file that claims a huge size (a
# decompression bomb) is refused before its pixels are decoded.
MAX_PIXELS: Final = 50_000_000
WEBP_QUALITY: Final = 85


def check_photo_type(content_type: str | None) -> None:
    """Refuse a body that is not declared as one of the accepted image types."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type not in ACCEPTED_TYPES:
        raise UnsupportedMediaType(
            f"send the photo as {', '.join(ACCEPTED_TYPES)}", field="content-type"
        )


def clean_photo(data: bytes, *, max_side: int = MAX_SIDE, max_pixels: int = MAX_PIXELS) -> bytes:
    """The photo as WebP, upright, at most `max_side` pixels wide and high, without metadata.

    The image's own bytes decide how it is decoded (JPEG, PNG or WebP), whatever type it
    was declared as; anything else is refused.
    """
    try:
        with Image.open(io.BytesIO(data), formats=list(ACCEPTED_TYPES.values())) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise _too_many_pixels(max_pixels)
            image.draft("RGB", (max_side, max_side))  # JPEG: decode at a smaller scale
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            pixels = upright.convert("RGBA" if _has_alpha(upright) else "RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels(max_pixels) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise Invalid(
            "the photo is not a JPEG, PNG or WebP image that can be read",
            field="photo",
            type_slug="not-an-image",
        ) from exc
    # A new image from the bare pixels: no EXIF, XMP, ICC profile or comment of the
    # original can reach the encoder, whatever the decoder left in `info`.
    clean = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    out = io.BytesIO()
    clean.save(out, format="WEBP", quality=WEBP_QUALITY)
    return out.getvalue()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def _too_many_pixels(max_pixels: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"a photo has at most {max_pixels} pixels", field="photo", type_slug="too-many-pixels"
    )
