"""A tiny PNG reader for tests (standard library only: zlib): a greyscale image as rows of
0-255 values, enough to hand a QR code to zxing-cpp.

It reads what segno writes (greyscale, 1 bit per pixel) and, for good measure, any
non-interlaced greyscale (1, 2, 4, 8 bits), palette (1, 2, 4, 8 bits) or 8-bit RGB/RGBA PNG,
with the five row filters. Chunk CRCs are checked.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel


@dataclass(frozen=True)
class Grey:
    width: int
    height: int
    bit_depth: int
    colour_type: int
    pixels: bytes  # one byte (0 black - 255 white) per pixel, row after row

    def buffer(self) -> memoryview:
        """The pixels as zxing-cpp reads them: a (height, width) greyscale view."""
        return memoryview(self.pixels).cast("B", (self.height, self.width))

    def at(self, x: int, y: int) -> int:
        return self.pixels[y * self.width + x]


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PNG")
    chunks, offset = [], len(SIGNATURE)
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise ValueError(f"bad CRC in {kind!r}")
        chunks.append((kind, body))
        offset += 12 + length
        if kind == b"IEND":
            break
    return chunks


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(raw: bytes, height: int, stride: int, bpp: int) -> list[bytes]:
    rows: list[bytes] = []
    previous = bytearray(stride)
    offset = 0
    for _ in range(height):
        kind, line = raw[offset], bytearray(raw[offset + 1 : offset + 1 + stride])
        offset += 1 + stride
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            corner = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                line[i] = (line[i] + _paeth(left, up, corner)) & 0xFF
            elif kind != 0:
                raise ValueError(f"unknown filter {kind}")
        rows.append(bytes(line))
        previous = line
    return rows


def _samples(row: bytes, bit_depth: int, count: int) -> list[int]:
    if bit_depth == 8:
        return list(row[:count])
    per_byte, mask = 8 // bit_depth, (1 << bit_depth) - 1
    out = []
    for i in range(count):
        byte = row[i // per_byte]
        shift = 8 - bit_depth * (i % per_byte + 1)
        out.append((byte >> shift) & mask)
    return out


def read_png(data: bytes) -> Grey:
    """The PNG `data` as greyscale pixels (colours averaged, alpha over white)."""
    chunks = _chunks(data)
    header = chunks[0][1]
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if interlace:
        raise ValueError("interlaced PNG not supported")
    palette = b"".join(body for kind, body in chunks if kind == b"PLTE")
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    channels = CHANNELS[colour]
    if colour in (2, 4, 6) and depth != 8:
        raise ValueError("only 8-bit colour PNG supported")
    stride = (width * channels * depth + 7) // 8
    bpp = max(1, channels * depth // 8)
    pixels = bytearray()
    top = (1 << depth) - 1
    for row in _unfilter(raw, height, stride, bpp):
        if colour == 0:
            pixels.extend(v * 255 // top for v in _samples(row, depth, width))
        elif colour == 3:
            for index in _samples(row, depth, width):
                r, g, b = palette[3 * index : 3 * index + 3]
                pixels.append((r + g + b) // 3)
        else:
            for x in range(width):
                px = row[x * channels : (x + 1) * channels]
                grey = sum(px[:3]) // 3 if channels >= 3 else px[0]
                alpha = px[-1] if channels in (2, 4) else 255
                pixels.append((grey * alpha + 255 * (255 - alpha)) // 255)
    return Grey(width, height, depth, colour, bytes(pixels))
