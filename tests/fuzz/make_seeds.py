#!/usr/bin/env python3
"""Writes the hand-made seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/):
small valid inputs and typical corruptions, in each target's input layout (see the
*_target.cpp files). Deterministic; run from anywhere. Inputs that once crashed a target
are added by hand as corpus/<target>/regress-*, never by this script."""
import gzip
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
CIMPORT = os.path.join(HERE, "..", "cimport", "fixtures")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def split2(first, second):
    return struct.pack("<H", len(first)) + first + second


# manifest: JSON text
ok = {"hawx": 1, "name": "seed", "seed": 3, "plugins": {"paths": ["p"]},
      "blocks": [{"name": "T4", "component": "core.truncated_mul", "params": {"k": 4}}],
      "metric": {"component": "m.x"}, "search": {"component": "s.y", "params": {}},
      "accelerators": [{"name": "A", "component": "a.b"}], "output": {"dir": "out"}}
put("manifest", "valid-full.json", json.dumps(ok))
put("manifest", "valid-min.json", '{"hawx": 1, "name": "m"}')
put("manifest", "malformed.json", '{"hawx": 1, "name": "t",}')
put("manifest", "unknown-key.json", '{"hawx": 1, "name": "t", "bloks": []}')
put("manifest", "wrong-type.json", '{"hawx": "1", "name": 5, "seed": -1, "blocks": {}}')
put("manifest", "duplicate-name.json", json.dumps({"hawx": 1, "name": "t", "blocks": [
    {"name": "A", "component": "x.y"}, {"name": "A", "component": "x.z"}]}))
put("manifest", "bad-component.json", '{"hawx": 1, "name": "t", "blocks": [{"name": "A", "component": 7, "params": []}]}')
put("manifest", "not-object.json", "[1, 2, 3]")
put("manifest", "deep.json", "[" * 2000 + "]" * 2000)
put("manifest", "huge-numbers.json", '{"hawx": 18446744073709551615, "name": "t", "seed": 18446744073709551616}')
put("manifest", "empty.json", "")

# table: flags byte, split2(sidecar, table bytes)
side = {"format": "hawx-table-1", "name": "z", "op": "multiply", "signed": False,
        "first_operand": "activation",
        "cost": {"power_mw": 0.1, "area_um2": 2.0, "delay_ns": 0.3, "energy_pj": None, "source": "seed"},
        "published": {"mae": 0.0}, "origin": "seed"}
sj = json.dumps(side).encode()
put("table", "zero-table-with-sidecar", bytes([0x80 | 0x40]) + split2(sj, b"\x00\x00"))
put("table", "exact-unsigned-with-sidecar", bytes([0x40]) + split2(
    sj, b"".join(struct.pack("<H", (a * b) & 0xFFFF) for a in range(256) for b in range(256))))
put("table", "no-sidecar-explicit", bytes([0x80 | 1 | (1 << 2) | (2 << 4)]) + split2(b"", b"\x01\x02\x03"))
put("table", "short-table", bytes([0]) + split2(sj, b"\x00" * 100))
put("table", "sidecar-wrong-types", bytes([0x80]) + split2(
    b'{"format": 5, "signed": "yes", "cost": {"power_mw": "x"}}', b"\x00"))
put("table", "sidecar-malformed", bytes([0x80]) + split2(b'{"format": "hawx-table-1",', b"\x00"))
put("table", "published-mismatch", bytes([0xC0]) + split2(
    json.dumps(dict(side, published={"mae": 5.0, "wce": 1e308})).encode(), b"\x07"))

# idx: split2(images, labels)
def idx_images(n, r, c, pix=None):
    body = pix if pix is not None else bytes((i * 37) & 0xFF for i in range(n * r * c))
    return struct.pack(">IIII", 0x803, n, r, c) + body


def idx_labels(labels):
    return struct.pack(">II", 0x801, len(labels)) + bytes(labels)


img, lab = idx_images(2, 3, 4), idx_labels([1, 7])
put("idx", "valid", split2(img, lab))
put("idx", "valid-gzip", split2(gzip.compress(img, mtime=0), gzip.compress(lab, mtime=0)))
put("idx", "truncated-images", split2(img[:-5], lab))
put("idx", "truncated-header", split2(img[:10], lab))
put("idx", "bad-magic", split2(b"\x00\x00\x08\x02" + img[4:], lab))
put("idx", "count-mismatch", split2(img, idx_labels([1, 2, 3])))
put("idx", "huge-count", split2(struct.pack(">IIII", 0x803, 0xFFFFFFFF, 65535, 65535), idx_labels([])))
put("idx", "trailing", split2(img + b"x", lab))
put("idx", "corrupt-gzip", split2(gzip.compress(img, mtime=0)[:20] + b"\xff" * 8, lab))
put("idx", "empty-dataset", split2(idx_images(0, 28, 28, b""), idx_labels([])))

# cifar: split2(batch a, batch b)
rec = bytes([3]) + bytes(i & 0xFF for i in range(3072))
put("cifar", "valid-two-batches", split2(rec, rec + bytes([9]) + rec[1:]))
put("cifar", "truncated", split2(rec, rec[:-1]))
put("cifar", "bad-label", split2(bytes([10]) + rec[1:], rec))
put("cifar", "empty-batch", split2(rec, b""))

# gtsrb: size byte, split2(csv text, 0.ppm bytes)
def ppm(w, h, header_extra=b""):
    return b"P6\n" + header_extra + b"%d %d\n255\n" % (w, h) + bytes((i * 11) & 0xFF for i in range(w * h * 3))


hdr = b"Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n"
put("gtsrb", "valid", bytes([7]) + split2(hdr + b"0.ppm;5;4;1;0;4;3;2\n", ppm(5, 4, b"# comment\n")))
put("gtsrb", "header-only", bytes([7]) + split2(hdr, ppm(5, 4)))
put("gtsrb", "roi-outside", bytes([7]) + split2(hdr + b"0.ppm;5;4;1;0;5;3;2\n", ppm(5, 4)))
put("gtsrb", "truncated-ppm", bytes([31]) + split2(hdr + b"0.ppm;5;4;0;0;4;3;1\n", ppm(5, 4)[:-7]))
put("gtsrb", "bad-magic", bytes([0]) + split2(hdr + b"0.ppm;5;4;0;0;4;3;1\n", b"P3\n5 4\n255\n"))
put("gtsrb", "missing-file", bytes([1]) + split2(hdr + b"1.ppm;5;4;0;0;4;3;1\n", ppm(5, 4)))
put("gtsrb", "size-mismatch", bytes([2]) + split2(hdr + b"0.ppm;6;4;0;0;4;3;1\n", ppm(5, 4)))
put("gtsrb", "bad-number", bytes([2]) + split2(hdr + b"0.ppm;5;4;-1;0;4;3;1e3\n", ppm(5, 4)))
put("gtsrb", "reordered-columns", bytes([39]) + split2(
    b"\xef\xbb\xbfClassId;Roi.Y2;Roi.X2;Roi.Y1;Roi.X1;Height;Width;Filename\r\n4;0;0;0;0;1;1;0.ppm\r\n", ppm(1, 1)))

# cimport: C source text
os.makedirs(os.path.join(CORPUS, "cimport"), exist_ok=True)
for f in ["mul8x7u_EX7.c", "add8u_L4O.c", "malformed/bad_header_value.c", "malformed/bad_no_circuit.c",
          "malformed/bad_signature.c"]:
    shutil.copyfile(os.path.join(CIMPORT, f), os.path.join(CORPUS, "cimport", os.path.basename(f)))
put("cimport", "two-circuits.c", "int mul8u_A(uint8_t A, uint8_t B) { return A; }\nint mul8u_B(uint8_t A, uint8_t B) { return B; }\n")
put("cimport", "width-out-of-range.c", "uint64_t mul99s_X(uint64_t A, uint64_t B) { return 0; }\n")
put("cimport", "unterminated.c", "/* open comment\nuint16_t mul8u_X(uint8_t A, uint8_t B) { return (A*B;\n")

# config: byte 0 = granularity (% 3) + 3 * (layers - 1), one byte per layer (filters - 1), text
def cfg(g, filters, text):
    return bytes([g + 3 * (len(filters) - 1)] + [f - 1 for f in filters]) + text.encode()


put("config", "layer-ranges", cfg(0, [4, 4, 4, 4, 4], "1-3:KV6 4:A 5:exact"))
put("config", "star", cfg(0, [2, 2, 2], "2:B *:L2N"))
put("config", "filter-mix", cfg(1, [4, 5], "1:(A,B) 2:[A,B,KV6,A,exact]"))
put("config", "operation-mix", cfg(2, [2], "1:(A,B,L2N)"))
put("config", "overlap", cfg(0, [4, 4, 4], "1-2:A 2-3:B"))
put("config", "missing-layer", cfg(0, [4, 4, 4], "1-2:A"))
put("config", "unknown-block", cfg(0, [4, 4], "*:NOPE"))
put("config", "out-of-range", cfg(0, [4, 4], "1-3:A"))
put("config", "reversed-range", cfg(0, [4, 4], "2-1:A"))
put("config", "bad-count", cfg(1, [3], "1:[A,B]"))
put("config", "unbalanced", cfg(1, [3], "1:(A,B"))
put("config", "bracket-at-layer-granularity", cfg(0, [3], "1:(A,B)"))
put("config", "garbage", cfg(0, [1], ":: -,, *:*:A 99999999999999999999:A"))
