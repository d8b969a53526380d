#!/usr/bin/env python3
"""Writes the figures of the recorded portal (fixtures/portal/images/): small baseline JPEG files,
the same bytes on every run, drawn and encoded with Python's standard library alone.

The recording keeps the article pages as the portal served them; their figures were not recorded,
so these stand in for them at the paths the pages reference (see fixtures/portal/manifest.tsv):
a landscape of sky, land and water, different for each figure, with nothing else in it.

Usage: python3 scripts/portal_images.py [fixtures/portal/images]
"""

import heapq
import math
import os
import struct
import sys

WIDTH, HEIGHT = 240, 160

# The figures: file name, and the colours (R, G, B) of sky, land and water, and where the
# horizon and the shore lie (as shares of the height).
FIGURES = [
    ("hoi-nghi-dhtt-2020-1.jpg", (120, 170, 230), (180, 60, 50), (230, 210, 120), 0.35, 0.8),
    ("hoi-nghi-dhtt-2020-2.jpg", (200, 200, 210), (150, 40, 40), (240, 230, 200), 0.4, 0.75),
    ("hoi-nghi-dhtt-2020-3.jpg", (230, 190, 140), (90, 60, 120), (200, 200, 160), 0.3, 0.7),
    ("kcn-thanh-loc.jpg", (140, 190, 240), (70, 140, 60), (160, 120, 80), 0.45, 0.85),
    ("cua-khau-ha-tien.jpg", (110, 160, 220), (60, 110, 70), (50, 100, 160), 0.4, 0.65),
]

# Annex K.1 of ITU-T T.81, luminance, scaled to quality 75; used for every component.
BASE_QUANT = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
]
QUANT = [max(1, min(255, (q * 50 + 50) // 100)) for q in BASE_QUANT]

# Odd diagonals run down-left (row grows), even ones up-right (column grows).
ZIGZAG = sorted(range(64), key=lambda i: (i // 8 + i % 8, (i // 8) if (i // 8 + i % 8) % 2 else (i % 8)))
COS = [[math.cos((2 * x + 1) * u * math.pi / 16) for x in range(8)] for u in range(8)]
SCALE = [math.sqrt(0.5) if u == 0 else 1.0 for u in range(8)]


def pixel(figure, x, y):
    """The RGB colour of one pixel: a sky lighter towards the horizon, a hill, water with waves."""
    _, sky, land, water, horizon, shore = figure
    h = y / HEIGHT
    hill = horizon - 0.12 * math.sin(x / WIDTH * math.pi * 1.5 + horizon * 7)
    if h < hill:
        lift = h / hill * 50
        return tuple(min(255, c + lift) for c in sky)
    if h < shore:
        shade = 25 * math.sin(x / 9.0 + y / 5.0)
        return tuple(max(0, min(255, c + shade)) for c in land)
    wave = 30 * math.sin(x / 6.0 + 3 * math.sin(y / 4.0))
    return tuple(max(0, min(255, c + wave)) for c in water)


def ycbcr(rgb):
    r, g, b = rgb
    return (
        0.299 * r + 0.587 * g + 0.114 * b,
        128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
        128 + 0.5 * r - 0.418688 * g - 0.081312 * b,
    )


def dct(block):
    """The quantised coefficients of an 8x8 block (row major), in zig-zag order."""
    rows = [[sum(block[y * 8 + x] * COS[u][x] for x in range(8)) for u in range(8)] for y in range(8)]
    out = [0] * 64
    for v in range(8):
        for u in range(8):
            s = sum(rows[y][u] * COS[v][y] for y in range(8))
            out[v * 8 + u] = s * SCALE[u] * SCALE[v] / 4
    return [int(round(out[i] / QUANT[i])) for i in ZIGZAG]


def size_of(value):
    return 0 if value == 0 else abs(value).bit_length()


def bits_of(value):
    size = size_of(value)
    return value if value >= 0 else value + (1 << size) - 1


def symbols(blocks):
    """The (DC or AC, symbol, extra bits, extra size) stream of the scan."""
    previous = [0, 0, 0]
    for component, coefficients in blocks:
        diff = coefficients[0] - previous[component]
        previous[component] = coefficients[0]
        yield ("dc", size_of(diff), bits_of(diff), size_of(diff))
        run = 0
        last = max((i for i in range(1, 64) if coefficients[i]), default=0)
        for i in range(1, last + 1):
            c = coefficients[i]
            if c == 0:
                run += 1
                continue
            while run > 15:
                yield ("ac", 0xF0, 0, 0)
                run -= 16
            yield ("ac", (run << 4) | size_of(c), bits_of(c), size_of(c))
            run = 0
        if last < 63:
            yield ("ac", 0x00, 0, 0)


def code_lengths(frequencies):
    """Huffman code lengths for the symbols used; a reserved symbol keeps the all-ones code out."""
    heap = [(f, i, [s]) for i, (s, f) in enumerate(sorted(frequencies.items()))]
    heap.append((0, len(heap), [None]))
    heapq.heapify(heap)
    lengths = {s: 0 for s in frequencies}
    lengths[None] = 0
    order = len(heap)
    while len(heap) > 1:
        f1, _, s1 = heapq.heappop(heap)
        f2, _, s2 = heapq.heappop(heap)
        for s in s1 + s2:
            lengths[s] += 1
        heapq.heappush(heap, (f1 + f2, order, s1 + s2))
        order += 1
    assert max(lengths.values()) <= 16, "a code longer than 16 bits"
    del lengths[None]
    return lengths


def canonical(lengths):
    """The DHT counts and values, and each symbol's (code, length)."""
    ordered = sorted(lengths, key=lambda s: (lengths[s], s))
    counts = [0] * 16
    codes = {}
    code, length = 0, 0
    for s in ordered:
        while length < lengths[s]:
            code <<= 1
            length += 1
        codes[s] = (code, length)
        counts[length - 1] += 1
        code += 1
    return counts, ordered, codes


class BitWriter:
    def __init__(self):
        self.out = bytearray()
        self.acc, self.n = 0, 0

    def write(self, value, size):
        for i in range(size - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> i) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                if self.acc == 0xFF:
                    self.out.append(0)
                self.acc, self.n = 0, 0

    def finish(self):
        if self.n:
            self.write((1 << (8 - self.n)) - 1, 8 - self.n)
        return bytes(self.out)


def segment(marker, payload):
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def encode(figure):
    planes = [[0.0] * (WIDTH * HEIGHT) for _ in range(3)]
    for y in range(HEIGHT):
        for x in range(WIDTH):
            for c, value in enumerate(ycbcr(pixel(figure, x, y))):
                planes[c][y * WIDTH + x] = value - 128
    blocks = []
    for by in range(0, HEIGHT, 8):
        for bx in range(0, WIDTH, 8):
            for c in range(3):
                block = [planes[c][(by + y) * WIDTH + bx + x] for y in range(8) for x in range(8)]
                blocks.append((c, dct(block)))
    stream = list(symbols(blocks))
    tables = {}
    for kind in ("dc", "ac"):
        frequencies = {}
        for k, s, _, _ in stream:
            if k == kind:
                frequencies[s] = frequencies.get(s, 0) + 1
        tables[kind] = canonical(code_lengths(frequencies))
    writer = BitWriter()
    for kind, s, extra, size in stream:
        code, length = tables[kind][2][s]
        writer.write(code, length)
        writer.write(extra, size)
    scan = writer.finish()

    jfif = segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    dqt = segment(0xDB, b"\x00" + bytes(QUANT[i] for i in ZIGZAG))
    sof = segment(0xC0, struct.pack(">BHHB", 8, HEIGHT, WIDTH, 3)
                  + b"".join(struct.pack(">BBB", c + 1, 0x11, 0) for c in range(3)))
    dht = b""
    for table_class, kind in ((0, "dc"), (1, "ac")):
        counts, values, _ = tables[kind]
        dht += segment(0xC4, bytes([table_class << 4]) + bytes(counts) + bytes(values))
    sos = segment(0xDA, b"\x03" + b"".join(struct.pack(">BB", c + 1, 0x00) for c in range(3))
                  + b"\x00\x3f\x00")
    return b"\xff\xd8" + jfif + dqt + sof + dht + sos + scan + b"\xff\xd9"


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "portal", "images")
    os.makedirs(out, exist_ok=True)
    for figure in FIGURES:
        data = encode(figure)
        with open(os.path.join(out, figure[0]), "wb") as f:
            f.write(data)
        print(f"{figure[0]}: {len(data)} bytes")


if __name__ == "__main__":
    main()
