#!/usr/bin/env python3
"""Draws Coffer's icon (a vault door with a keyhole) as RGBA PNGs, with no
dependency beyond Python's standard library. Run from the repo root:
    python3 icons/make.py
"""
import math, struct, zlib

def png(path, size, px):
    raw = b"".join(b"\x00" + bytes(px[y * size * 4:(y + 1) * size * 4]) for y in range(size))
    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))

def shade(x, y):
    """Colour at (x, y) in [0,1]^2, or None outside the icon."""
    # rounded square
    r = 0.2
    qx, qy = abs(x - 0.5) - (0.5 - r), abs(y - 0.5) - (0.5 - r)
    outside = math.hypot(max(qx, 0), max(qy, 0)) + min(max(qx, qy), 0) - r
    if outside > -0.02:
        return None
    d = math.hypot(x - 0.5, y - 0.5)
    if d < 0.34:
        # keyhole: circle + trapezoid
        if math.hypot(x - 0.5, y - 0.43) < 0.075 or (0.43 <= y <= 0.64 and abs(x - 0.5) < 0.03 + (y - 0.43) * 0.18):
            return (24, 30, 44)
        if d > 0.30:
            return (200, 160, 72)
        return (230, 190, 96)
    return (30, 41, 59)

def draw(size, ss=3):
    px = bytearray(size * size * 4)
    for j in range(size):
        for i in range(size):
            acc = [0, 0, 0, 0]
            for sj in range(ss):
                for si in range(ss):
                    c = shade((i + (si + 0.5) / ss) / size, (j + (sj + 0.5) / ss) / size)
                    if c:
                        acc[0] += c[0]; acc[1] += c[1]; acc[2] += c[2]; acc[3] += 255
            n = ss * ss
            a = acc[3] // n
            k = (j * size + i) * 4
            if a:
                cov = acc[3] / 255
                px[k:k + 4] = bytes((int(acc[0] / cov), int(acc[1] / cov), int(acc[2] / cov), a))
    return px

for name, size in [("32x32.png", 32), ("128x128.png", 128), ("128x128@2x.png", 256), ("icon.png", 512)]:
    png(f"icons/{name}", size, draw(size, 3 if size <= 256 else 2))
