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

"""
sensor_msgs/Image and CompressedImage conversion without cv_bridge (numpy and OpenCV only).

Works on the message's plain fields, so it needs no ROS import and can be tested alone.

Supported encodings and their array layout (native, as OpenCV uses them):

========  ============  =====================================================
encoding  array         notes
========  ============  =====================================================
bgr8      HxWx3 uint8
rgb8      HxWx3 uint8   channel order R, G, B
bgra8     HxWx4 uint8
rgba8     HxWx4 uint8
mono8     HxW   uint8
mono16    HxW   uint16  ``is_bigendian`` honoured; returned in native byte order
========  ============  =====================================================

mono16 to 8 bit (``to_bgr`` / ``to_gray``): the high byte is kept (``value >> 8``, i.e.
value / 256 rounded down), the same fixed scaling cv_bridge applies for 16 to 8 bit. It is
a fixed map, not an auto-contrast, so a camera that fills only the low bits of the 16-bit
range gives a dark image; such a source should publish mono8.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np


class ImageConversionError(ValueError):
    """An image message cannot be converted; the message names the problem."""


@dataclass(frozen=True)
class EncodingInfo:
    channels: int
    dtype: np.dtype

    @property
    def bytes_per_pixel(self) -> int:
        return self.channels * self.dtype.itemsize


ENCODINGS: dict[str, EncodingInfo] = {
    "bgr8": EncodingInfo(3, np.dtype(np.uint8)),
    "rgb8": EncodingInfo(3, np.dtype(np.uint8)),
    "bgra8": EncodingInfo(4, np.dtype(np.uint8)),
    "rgba8": EncodingInfo(4, np.dtype(np.uint8)),
    "mono8": EncodingInfo(1, np.dtype(np.uint8)),
    "mono16": EncodingInfo(1, np.dtype(np.uint16)),
}
SUPPORTED_ENCODINGS: tuple[str, ...] = tuple(ENCODINGS)


def encoding_info(encoding: str) -> EncodingInfo:
    """Channels and element type of a supported encoding; raises for anything else."""
    info = ENCODINGS.get(encoding)
    if info is None:
        raise ImageConversionError(
            f"unsupported image encoding '{encoding}' (supported: {', '.join(SUPPORTED_ENCODINGS)})"
        )
    return info


def _as_byte_buffer(data: Any) -> np.ndarray:
    """Return a flat uint8 view of bytes / bytearray / memoryview / array.array('B') / ndarray; no copy."""
    if isinstance(data, np.ndarray):
        return np.ascontiguousarray(data).reshape(-1).view(np.uint8)
    try:
        return np.frombuffer(data, dtype=np.uint8)
    except (TypeError, ValueError):
        # A plain list of ints (some message wrappers): one unavoidable copy.
        try:
            return np.asarray(data, dtype=np.uint8).reshape(-1)
        except (TypeError, ValueError) as error:
            raise ImageConversionError(f"image data of type {type(data).__name__} is not a byte buffer") from error


def image_fields_to_array(
    height: int, width: int, encoding: str, step: int, data: Any, is_bigendian: int | bool = 0
) -> np.ndarray:
    """
    Array view of sensor_msgs/Image fields in native layout (see module docstring).

    Rows padded beyond ``width * bytes_per_pixel`` (``step`` larger) are skipped with a strided
    view, so nothing is copied for 8-bit encodings; mono16 in non-native byte order is
    byte-swapped into a new array. The view is read-only when ``data`` is ``bytes``.
    """
    info = encoding_info(encoding)
    if height <= 0 or width <= 0:
        raise ImageConversionError(f"image size {width}x{height} ({encoding}) is empty")
    row_bytes = width * info.bytes_per_pixel
    if step < row_bytes:
        raise ImageConversionError(
            f"step {step} is shorter than width {width} x {info.bytes_per_pixel} bytes per pixel "
            f"= {row_bytes} ({encoding})"
        )
    buffer = _as_byte_buffer(data)
    if buffer.size == 0:
        raise ImageConversionError(f"image data is empty ({width}x{height} {encoding})")
    # The last row needs only row_bytes, but the message contract is step * height.
    needed = step * height
    if buffer.size < needed:
        raise ImageConversionError(
            f"image data has {buffer.size} bytes, {encoding} {width}x{height} with step {step} "
            f"needs {needed}"
        )

    byte_order = ">" if is_bigendian else "<"
    dtype = info.dtype.newbyteorder(byte_order) if info.dtype.itemsize > 1 else info.dtype
    # Drop the row padding with a strided view; the last axis stays contiguous, so viewing
    # it as wider elements and splitting off the channels copies nothing.
    rows = buffer[:needed].reshape(height, step)[:, :row_bytes]
    array = rows.view(dtype)
    if info.channels > 1:
        array = array.reshape(height, width, info.channels)
    if not dtype.isnative:
        array = array.astype(info.dtype)
    return array


def array_to_image_fields(array: np.ndarray, encoding: str) -> tuple[int, int, int, bytes]:
    """
    (height, width, step, data) for a sensor_msgs/Image; rows unpadded, mono16 little-endian.

    Publishers set ``is_bigendian = 0`` with these fields.
    """
    info = encoding_info(encoding)
    array = np.asarray(array)
    expected_ndim = 2 if info.channels == 1 else 3
    if array.ndim != expected_ndim or (info.channels > 1 and array.shape[2] != info.channels):
        raise ImageConversionError(
            f"array of shape {array.shape} does not fit encoding '{encoding}' "
            f"({'HxW' if info.channels == 1 else f'HxWx{info.channels}'} expected)"
        )
    if array.dtype.kind != info.dtype.kind or array.dtype.itemsize != info.dtype.itemsize:
        raise ImageConversionError(
            f"array dtype {array.dtype} does not fit encoding '{encoding}' ({info.dtype} expected)")
    height, width = array.shape[:2]
    if height == 0 or width == 0:
        raise ImageConversionError(f"array of shape {array.shape} is empty ({encoding})")
    little_endian = np.ascontiguousarray(array, dtype=info.dtype.newbyteorder("<"))
    return height, width, width * info.bytes_per_pixel, little_endian.tobytes()


def to_bgr(array: np.ndarray, encoding: str) -> np.ndarray:
    """HxWx3 uint8 BGR from an array in ``encoding``'s layout (bgr8 is returned as is)."""
    info = encoding_info(encoding)
    _check_layout(array, info, encoding)
    if encoding == "bgr8":
        return array
    if encoding == "rgb8":
        return cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    if encoding == "bgra8":
        return cv2.cvtColor(array, cv2.COLOR_BGRA2BGR)
    if encoding == "rgba8":
        return cv2.cvtColor(array, cv2.COLOR_RGBA2BGR)
    return cv2.cvtColor(_mono_to_8bit(array), cv2.COLOR_GRAY2BGR)


def to_gray(array: np.ndarray, encoding: str) -> np.ndarray:
    """Return HxW uint8 grey from an array in ``encoding``'s layout (mono8 is returned as is)."""
    info = encoding_info(encoding)
    _check_layout(array, info, encoding)
    if encoding in ("mono8", "mono16"):
        return _mono_to_8bit(array)
    codes = {
        "bgr8": cv2.COLOR_BGR2GRAY,
        "rgb8": cv2.COLOR_RGB2GRAY,
        "bgra8": cv2.COLOR_BGRA2GRAY,
        "rgba8": cv2.COLOR_RGBA2GRAY,
    }
    return cv2.cvtColor(array, codes[encoding])


def _mono_to_8bit(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    return (array >> 8).astype(np.uint8)


def _check_layout(array: np.ndarray, info: EncodingInfo, encoding: str) -> None:
    expected_shape_ok = array.ndim == 2 if info.channels == 1 else (array.ndim == 3 and array.shape[2] == info.channels)
    if not expected_shape_ok or array.dtype.itemsize != info.dtype.itemsize or array.dtype.kind != info.dtype.kind:
        raise ImageConversionError(f"array {array.shape} {array.dtype} does not fit encoding '{encoding}'")
    if array.size == 0:
        raise ImageConversionError(f"array of shape {array.shape} is empty ({encoding})")


def decode_compressed(format: str, data: Any) -> np.ndarray:  # noqa: A002 - the message field's name
    """BGR image from sensor_msgs/CompressedImage fields (JPEG, PNG, ... anything cv2.imdecode reads)."""
    buffer = _as_byte_buffer(data)
    if buffer.size == 0:
        raise ImageConversionError(f"compressed image data is empty (format '{format}')")
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if image is None:
        raise ImageConversionError(f"cannot decode compressed image of format '{format}' ({buffer.size} bytes)")
    return image


# --- frame size limit (max_image_pixels) ------------------------------------------------------
def check_pixel_count(width: int, height: int, max_pixels: int) -> None:
    """Refuse a frame larger than ``max_pixels`` before anything copies it."""
    if width * height > max_pixels:
        raise ImageConversionError(
            f"image {width}x{height} ({width * height} pixels) is larger than max_image_pixels {max_pixels}"
        )


def compressed_image_size(data: Any) -> tuple[int, int] | None:
    """(width, height) read from a PNG or JPEG header without decoding; None for other formats."""
    buffer = _as_byte_buffer(data)
    header = buffer[:24].tobytes()
    if header.startswith(b"\x89PNG\r\n\x1a\n") and len(header) >= 24:
        return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    if not header.startswith(b"\xff\xd8"):
        return None
    # JPEG: walk the segments to the first start-of-frame marker (SOF0..SOF15 but DHT, JPG, DAC).
    position, size = 2, buffer.size
    while position + 9 < size:
        if buffer[position] != 0xFF:
            return None
        marker = int(buffer[position + 1])
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        length = (int(buffer[position + 2]) << 8) | int(buffer[position + 3])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height = (int(buffer[position + 5]) << 8) | int(buffer[position + 6])
            width = (int(buffer[position + 7]) << 8) | int(buffer[position + 8])
            return width, height
        position += 2 + length
    return None
