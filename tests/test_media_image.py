"""load_image: every mode, EXIF orientation, bad files, gigantic images without running out of memory."""

from __future__ import annotations

import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fomm_core.errors import InputError
from talking_head.media.image import MAX_IMAGE_SIDE, fit_square, load_image

REPO = Path(__file__).resolve().parents[1]


def uniform_gray_jpeg(path: Path, width: int, height: int) -> Path:
    """Write a genuine baseline grayscale JPEG of mid-gray without ever holding its pixels.

    One Huffman code per table ("0" = DC difference category 0, "0" = end of block), so every 8x8 block
    costs 2 bits: a 20000x20000 image is 1.6 MB on disk.
    """
    def segment(marker: int, payload: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload

    one_code = bytes([1] + [0] * 15) + b"\x00"  # 16 code-length counts (one code of length 1), symbol 0
    blocks = -(-width // 8) * -(-height // 8)
    bits = 2 * blocks
    data = bytearray(bits // 8)
    if bits % 8:
        data.append(0xFF >> (bits % 8))  # pad the last byte with 1 bits, as JPEG requires
    jpeg = (
        b"\xff\xd8"
        + segment(0xDB, b"\x00" + bytes([1] * 64))
        + segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
        + segment(0xC4, b"\x00" + one_code)
        + segment(0xC4, b"\x10" + one_code)
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + bytes(data)
        + b"\xff\xd9"
    )
    path.write_bytes(jpeg)
    return path


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width`` x ``height``, with only its first row of pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    first_row = zlib.compress(bytes(1 + 3 * width))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", first_row) + chunk(b"IEND", b""))
    return path


def test_rgb_png_roundtrip_exact(tmp_path, astronaut):
    Image.fromarray(astronaut).save(tmp_path / "a.png")
    out = load_image(tmp_path / "a.png")
    assert out.dtype == np.uint8 and out.shape == astronaut.shape
    assert np.array_equal(out, astronaut)


def test_rgba_composited_on_white(tmp_path):
    rgba = np.zeros((8, 10, 4), np.uint8)
    rgba[:, :5] = (200, 10, 10, 255)  # opaque red left half
    rgba[:, 5:] = (0, 0, 0, 0)  # transparent right half
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = load_image(tmp_path / "a.png")
    assert out.shape == (8, 10, 3)
    assert (out[:, :5] == (200, 10, 10)).all()
    assert (out[:, 5:] == 255).all()


def test_grayscale_and_palette(tmp_path, astronaut):
    gray = np.array(Image.fromarray(astronaut).convert("L"))
    Image.fromarray(gray).save(tmp_path / "g.png")
    out = load_image(tmp_path / "g.png")
    assert out.shape == (512, 512, 3) and np.array_equal(out[..., 0], gray) and np.array_equal(out[..., 2], gray)

    pal = Image.fromarray(astronaut).quantize(16)
    pal.save(tmp_path / "p.png")
    out = load_image(tmp_path / "p.png")
    assert np.array_equal(out, np.array(pal.convert("RGB")))

    pal.info["transparency"] = 0
    pal.save(tmp_path / "pt.png", transparency=0)
    out = load_image(tmp_path / "pt.png")
    index0 = np.array(pal) == 0
    assert index0.any() and (out[index0] == 255).all()


def test_16bit_grayscale_is_scaled_not_clipped(tmp_path):
    ramp = np.array([[0, 257, 32768, 65535]], np.uint16).repeat(3, 0)
    Image.fromarray(ramp).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")
    out = load_image(tmp_path / "g16.png")
    assert out[0, :, 0].tolist() == [0, 1, 128, 255]


def test_exif_rotated_jpeg(tmp_path):
    img = np.zeros((20, 40, 3), np.uint8)
    img[:, :20] = (255, 0, 0)  # red on the left of the stored pixels
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    Image.fromarray(img).save(tmp_path / "r.jpg", exif=exif, quality=95)
    out = load_image(tmp_path / "r.jpg")
    assert out.shape == (40, 20, 3)
    # After a clockwise quarter turn the stored left half is on top.
    assert out[:15, :, 0].mean() > 200 and out[25:, :, 0].mean() < 50


def test_arrays(astronaut):
    assert np.array_equal(load_image(astronaut), astronaut)
    assert load_image(astronaut) is not astronaut
    as_float = load_image(astronaut.astype(np.float32) / 255)
    assert np.array_equal(as_float, astronaut)
    gray16 = np.full((4, 4), 65535, np.uint16)
    assert (load_image(gray16) == 255).all()
    with pytest.raises(InputError, match="shape"):
        load_image(np.zeros((4, 4, 2), np.uint8))


def test_large_image_downscaled_to_max_side(tmp_path):
    Image.new("RGB", (300, 120), (10, 20, 30)).save(tmp_path / "w.png")
    out = load_image(tmp_path / "w.png", max_side=100)
    assert out.shape == (40, 100, 3) and (out == (10, 20, 30)).all()


def test_fit_square(astronaut):
    wide = np.concatenate([astronaut, astronaut], axis=1)  # (512, 1024, 3)
    out = fit_square(wide, 256)
    assert out.shape == (256, 256, 3)
    centre = fit_square(wide[:, 256:768], 256)
    assert np.array_equal(out, centre)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"nope\.png: no such image file"):
        load_image(tmp_path / "nope.png")


def test_text_file_as_image(tmp_path):
    (tmp_path / "notes.png").write_text("this is not an image\n")
    with pytest.raises(InputError, match=r"notes\.png: not an image file"):
        load_image(tmp_path / "notes.png")


def test_empty_file(tmp_path):
    (tmp_path / "e.jpg").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        load_image(tmp_path / "e.jpg")


@pytest.mark.parametrize("fmt", ["png", "jpeg"])
def test_truncated_file(tmp_path, astronaut, fmt):
    full = tmp_path / f"full.{fmt}"
    Image.fromarray(astronaut).save(full, format=fmt)
    cut = tmp_path / f"cut.{fmt}"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(InputError, match=r"cut\.\w+: the image file is truncated or corrupt"):
        load_image(cut)


def test_gigantic_png_refused_before_decoding(tmp_path):
    path = png_header_only(tmp_path / "huge.png", 20000, 20000)
    with pytest.raises(InputError, match=r"huge\.png: image is 20000x20000 \(400 MP\)"):
        load_image(path)


def test_gigantic_jpeg_decoded_at_reduced_scale_in_bounded_memory(tmp_path, monkeypatch):
    """A real 20000x20000 JPEG loads downscaled; the child's peak memory stays far below the 400 MB
    a full-size decode would need."""
    path = uniform_gray_jpeg(tmp_path / "huge.jpg", 20000, 20000)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with Image.open(path) as img:  # a valid JPEG that claims its full size
        assert img.size == (20000, 20000)
        img.draft("L", (2500, 2500))
        img.load()
        assert img.size == (2500, 2500) and np.asarray(img).std() == 0
    script = textwrap.dedent(
        f"""
        import resource, sys
        import numpy as np
        from talking_head.media.image import load_image
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out = load_image({str(path)!r})
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(out.shape[0], out.shape[1], int(out.mean()), (after - before) // 1024)
        """
    )
    res = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    height, width, mean, grew_mb = map(int, res.stdout.split())
    assert max(height, width) <= MAX_IMAGE_SIDE and height == width and height >= 1000
    assert mean == 128
    # A full-size decode needs 400 MB for the gray pixels alone (1.2 GB as RGB).
    assert grew_mb < 300, f"peak memory grew by {grew_mb} MB while loading"
