#!/usr/bin/env python3
"""Writes codec.json: register encodings of values for every data type and
byte/word order, computed independently of the Go codec with Python's struct
module. Run it from this directory: python3 codec_cases.py > codec.json"""
import json
import struct

FORMATS = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "int64": "q",
           "uint64": "Q", "float32": "f", "float64": "d"}
VALUES = {
    "int16": [0, 1234, -2, -32768, 32767],
    "uint16": [0, 456, 0xABCD, 65535],
    "int32": [-123456, 2147483647, -2147483648, 70000],
    "uint32": [4000000000, 70000, 0x12345678],
    "int64": [-2, 1234567890123, -9007199254740992, 2**53],
    "uint64": [0, 2**53, 0x0102030405060000],
    "float32": [1.5, -12.25, 1500.5, 3.0e38],
    "float64": [0.1, -2.5, 1e300, -1234.5678],
}
ORDERS = ["ABCD", "CDAB", "BADC", "DCBA"]


def arrange(big_endian, order):
    words = [big_endian[i:i + 2] for i in range(0, len(big_endian), 2)]
    if order in ("BADC", "DCBA"):
        words = [w[::-1] for w in words]
    if order in ("CDAB", "DCBA"):
        words = words[::-1]
    return ["0x%04X" % int.from_bytes(w, "big") for w in words]


cases = []
for typ, values in VALUES.items():
    for v in values:
        for order in ORDERS:
            raw = struct.pack(">" + FORMATS[typ], v)
            if typ == "float32":
                v = struct.unpack(">f", raw)[0]  # the value a float32 holds
            cases.append({"name": f"{typ} {v!r} {order}", "type": typ, "order": order,
                          "value": v, "regs": arrange(raw, order)})
for order in ORDERS:
    for v in (0, 1):
        cases.append({"name": f"bool {v} {order}", "type": "bool", "order": order,
                      "value": v, "regs": arrange(struct.pack(">H", v), order)})
for bit, reg in ((0, 0x0001), (3, 0x0008), (15, 0x8000)):
    for order in ("ABCD", "BADC"):
        r = reg if order == "ABCD" else ((reg & 0xFF) << 8 | reg >> 8)
        cases.append({"name": f"bit {bit} set {order}", "type": "bool", "order": order,
                      "bit": bit, "value": 1, "regs": ["0x%04X" % r]})
        cases.append({"name": f"bit {bit} clear {order}", "type": "bool", "order": order,
                      "bit": bit, "value": 0, "regs": ["0x%04X" % (0xFFFF ^ r)], "one_way": True})
for text, length in (("VFD-200", 8), ("AB", 2), ("serial 12", 10), ("X", 1)):
    for order in ("ABCD", "BADC"):
        raw = text.encode().ljust(length + length % 2, b"\0")
        cases.append({"name": f"string {text!r} len {length} {order}", "type": "string",
                      "order": order, "length": length, "text": text, "regs": arrange(raw, order)})
print(json.dumps(cases, indent=1))
