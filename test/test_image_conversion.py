# Copyright 2026 face_perception maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""sensor_msgs/Image field conversion: every encoding round-trips; bad input fails clearly."""
from __future__ import annotations

import array

import cv2
import numpy as np
import pytest

from face_perception.ros.image_conversion import (
    array_to_image_fields,
    decode_compressed,
    image_fields_to_array,
    ImageConversionError,
    SUPPORTED_ENCODINGS,
    to_bgr,
    to_gray,
)

CHANNELS = {"bgr8": 3, "rgb8": 3, "bgra8": 4, "rgba8": 4, "mono8": 1, "mono16": 1}


def random_image(encoding: str, height: int = 5, width: int = 7, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    channels = CHANNELS[encoding]
    shape = (height, width) if channels == 1 else (height, width, channels)
    if encoding == "mono16":
        return rng.integers(0, 65536, shape, dtype=np.uint16)
    return rng.integers(0, 256, shape, dtype=np.uint8)


def padded(data: bytes, row_bytes: int, height: int, padding: int) -> bytes:
    """Rows of ``row_bytes`` followed by ``padding`` junk bytes each (step = row_bytes + padding)."""
    junk = bytes([0xAB]) * padding
    return b"".join(data[r * row_bytes:(r + 1) * row_bytes] + junk for r in range(height))


@pytest.mark.parametrize("encoding", SUPPORTED_ENCODINGS)
def test_round_trip_every_encoding(encoding: str) -> None:
    image = random_image(encoding)
    height, width, step, data = array_to_image_fields(image, encoding)
    assert (height, width) == image.shape[:2]
    assert step == width * CHANNELS[encoding] * image.dtype.itemsize
    assert len(data) == step * height
    back = image_fields_to_array(height, width, encoding, step, data, is_bigendian=0)
    assert back.dtype == image.dtype and back.shape == image.shape
    np.testing.assert_array_equal(back, image)


@pytest.mark.parametrize("encoding", SUPPORTED_ENCODINGS)
@pytest.mark.parametrize("padding", [1, 3, 16])
def test_step_padding_is_skipped(encoding: str, padding: int) -> None:
    image = random_image(encoding, seed=padding)
    height, width, step, data = array_to_image_fields(image, encoding)
    step_padded = step + padding  # odd paddings leave 16-bit rows unaligned
    back = image_fields_to_array(height, width, encoding, step_padded, padded(data, step, height, padding), 0)
    np.testing.assert_array_equal(back, image)


def test_padded_8bit_rows_are_a_view_not_a_copy() -> None:
    image = random_image("bgr8", height=4, width=6)
    height, width, step, data = array_to_image_fields(image, "bgr8")
    buffer = bytearray(padded(data, step, height, 5))
    back = image_fields_to_array(height, width, "bgr8", step + 5, buffer, 0)
    buffer[0] ^= 0xFF  # visible through the view only if nothing was copied
    assert back[0, 0, 0] == image[0, 0, 0] ^ 0xFF


def test_big_endian_mono16() -> None:
    image = np.array([[0x0102, 0xFF00, 0x00FF], [1, 256, 65535]], dtype=np.uint16)
    big_endian = b"".join(image[r].astype(">u2").tobytes() + b"\x00" for r in range(2))  # step 7
    back = image_fields_to_array(2, 3, "mono16", 7, big_endian, is_bigendian=1)
    np.testing.assert_array_equal(back, image)
    assert back.dtype.isnative
    # The same bytes read as little-endian are byte-swapped: the flag really matters.
    swapped = image_fields_to_array(2, 3, "mono16", 7, big_endian, is_bigendian=0)
    assert swapped[0, 0] == 0x0201


def test_accepts_ros_style_buffers() -> None:
    image = random_image("rgb8")
    height, width, step, data = array_to_image_fields(image, "rgb8")
    for buffer in (array.array("B", data), memoryview(data), list(data), np.frombuffer(data, np.uint8)):
        np.testing.assert_array_equal(image_fields_to_array(height, width, "rgb8", step, buffer, 0), image)


def test_color_helpers_agree_with_opencv() -> None:
    bgr = random_image("bgr8", 8, 9)
    rgb = bgr[:, :, ::-1].copy()
    bgra = cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)
    rgba = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGBA)
    for image, encoding in ((bgr, "bgr8"), (rgb, "rgb8"), (bgra, "bgra8"), (rgba, "rgba8")):
        np.testing.assert_array_equal(to_bgr(image, encoding), bgr)
        np.testing.assert_array_equal(to_gray(image, encoding), cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))


def test_mono16_maps_high_byte_to_8bit() -> None:
    mono16 = np.array([[0, 255, 256, 65535]], dtype=np.uint16)
    np.testing.assert_array_equal(to_gray(mono16, "mono16"), [[0, 0, 1, 255]])
    assert to_bgr(mono16, "mono16").shape == (1, 4, 3)
    mono8 = np.array([[3, 200]], dtype=np.uint8)
    np.testing.assert_array_equal(to_bgr(mono8, "mono8")[..., 2], mono8)


def test_decode_compressed_jpeg_and_png(astronaut_bgr: np.ndarray) -> None:
    ok, png = cv2.imencode(".png", astronaut_bgr)
    assert ok
    np.testing.assert_array_equal(decode_compressed("png", png.tobytes()), astronaut_bgr)
    ok, jpeg = cv2.imencode(".jpg", astronaut_bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
    decoded = decode_compressed("bgr8; jpeg compressed bgr8", array.array("B", jpeg.tobytes()))
    assert decoded.shape == astronaut_bgr.shape
    assert np.abs(decoded.astype(int) - astronaut_bgr).mean() < 3


GOOD = {"height": 2, "width": 3, "encoding": "mono16", "step": 6, "data": bytes(12), "is_bigendian": 0}


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"encoding": "yuv422"}, "yuv422"),
        ({"encoding": "32FC1"}, "unsupported image encoding '32FC1'"),
        ({"data": b""}, "empty"),
        ({"step": 5}, "step 5"),
        ({"data": bytes(11)}, "11 bytes"),
        ({"height": 0}, "empty"),
        ({"width": 0, "step": 0}, "empty"),
    ],
)
def test_bad_fields_raise_one_clear_error(changes: dict, expected: str) -> None:
    fields = {**GOOD, **changes}
    with pytest.raises(ImageConversionError, match=expected) as info:
        image_fields_to_array(**fields)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_bad_arrays_and_compressed_data_raise() -> None:
    with pytest.raises(ImageConversionError, match="bgr8"):
        array_to_image_fields(np.zeros((2, 2), np.uint8), "bgr8")
    with pytest.raises(ImageConversionError, match="mono16"):
        array_to_image_fields(np.zeros((2, 2), np.uint8), "mono16")
    with pytest.raises(ImageConversionError, match="empty"):
        array_to_image_fields(np.zeros((0, 2, 3), np.uint8), "bgr8")
    with pytest.raises(ImageConversionError, match="hevc"):
        to_bgr(np.zeros((2, 2, 3), np.uint8), "hevc")
    with pytest.raises(ImageConversionError, match="empty"):
        decode_compressed("jpeg", b"")
    with pytest.raises(ImageConversionError, match="'jpeg'"):
        decode_compressed("jpeg", b"not a jpeg at all")


@pytest.mark.parametrize("encoding", ["bgr8", "rgb8", "bgra8", "mono8"])
def test_padded_read_only_views_feed_opencv(astronaut_bgr: np.ndarray, encoding: str) -> None:
    """What the node does: bytes from a message -> strided read-only view -> grey for detection."""
    source = {
        "bgr8": astronaut_bgr,
        "rgb8": cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2RGB),
        "bgra8": cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2BGRA),
        "mono8": cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2GRAY),
    }[encoding]
    height, width, step, data = array_to_image_fields(source, encoding)
    view = image_fields_to_array(height, width, encoding, step + 7, padded(data, step, height, 7), 0)
    assert not view.flags.writeable and not view.flags.c_contiguous
    gray = to_gray(view, encoding)
    np.testing.assert_array_equal(gray, cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2GRAY))
    np.testing.assert_array_equal(to_bgr(view, encoding)[..., 1], source[..., 1] if source.ndim == 3 else source)
