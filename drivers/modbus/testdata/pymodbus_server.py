#!/usr/bin/env python3
"""An independent Modbus server for the driver's interop tests, built on
pymodbus (Debian's python3-pymodbus, 3.0). The Go test starts it with a JSON
configuration as the only argument:

  transport  "tcp", "tls", "rtu-over-tcp" or "rtu" (a serial port)
  port       TCP port (tcp, tls, rtu-over-tcp) or serial device path (rtu)
  baud, parity ("N", "E", "O"), stop_bits   serial line setting (rtu)
  tls        {"cert", "key", "ca"} PEM files (tls): the server requires a
             client certificate signed by ca
  units      unit ids to serve; every unit gets the same data
  points     [{"table", "address", "type", "order", "value"|"text", "length"}]
             values are encoded into registers here, with Python's struct
             module, independently of the Go codec

It prints READY once it serves.
"""
import asyncio
import json
import ssl
import struct
import sys

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.server import StartAsyncSerialServer
from pymodbus.server.async_io import ModbusTcpServer, ModbusTlsServer
from pymodbus.transaction import ModbusRtuFramer, ModbusSocketFramer

FORMATS = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "int64": "q",
           "uint64": "Q", "float32": "f", "float64": "d"}


def arrange(big_endian, order):
    words = [big_endian[i:i + 2] for i in range(0, len(big_endian), 2)]
    if order in ("BADC", "DCBA"):
        words = [w[::-1] for w in words]
    if order in ("CDAB", "DCBA"):
        words = words[::-1]
    return [int.from_bytes(w, "big") for w in words]


def main():
    cfg = json.loads(sys.argv[1])
    size = 1000
    tables = {"coil": [False] * size, "discrete": [False] * size, "holding": [0] * size, "input": [0] * size}
    for p in cfg["points"]:
        table, addr = p["table"], p["address"]
        if table in ("coil", "discrete"):
            tables[table][addr] = bool(p["value"])
            continue
        typ, order = p["type"], p.get("order") or "ABCD"
        if typ == "string":
            raw = p["text"].encode().ljust(p["length"] + p["length"] % 2, b"\0")
        elif typ == "bool":
            raw = struct.pack(">H", int(p["value"]))
        else:
            v = p["value"]
            if FORMATS[typ] not in "fd":
                v = int(v)
            raw = struct.pack(">" + FORMATS[typ], v)
        for i, w in enumerate(arrange(raw, order)):
            tables[table][addr + i] = w
    # zero_mode: request address 0 is the block's first value (pymodbus
    # otherwise adds one, the "PLC address" convention).
    slaves = {
        u: ModbusSlaveContext(
            co=ModbusSequentialDataBlock(0, tables["coil"]),
            di=ModbusSequentialDataBlock(0, tables["discrete"]),
            hr=ModbusSequentialDataBlock(0, tables["holding"]),
            ir=ModbusSequentialDataBlock(0, tables["input"]),
            zero_mode=True,
        )
        for u in cfg["units"]
    }
    context = ModbusServerContext(slaves=slaves, single=False)

    async def serve():
        transport = cfg["transport"]
        if transport == "rtu":
            print("READY", flush=True)
            await StartAsyncSerialServer(context=context, framer=ModbusRtuFramer, port=cfg["port"],
                                         baudrate=cfg.get("baud", 19200), parity=cfg.get("parity", "N"),
                                         stopbits=cfg.get("stop_bits", 1), bytesize=8, timeout=0.05)
            return
        address = ("127.0.0.1", cfg["port"])
        if transport == "tls":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(cfg["tls"]["cert"], cfg["tls"]["key"])
            ctx.load_verify_locations(cfg["tls"]["ca"])
            ctx.verify_mode = ssl.CERT_REQUIRED
            server = ModbusTlsServer(context, ModbusSocketFramer, None, address, sslctx=ctx, allow_reuse_address=True)
        else:
            framer = ModbusRtuFramer if transport == "rtu-over-tcp" else ModbusSocketFramer
            server = ModbusTcpServer(context, framer, None, address, allow_reuse_address=True)
        task = asyncio.create_task(server.serve_forever())
        await server.serving
        print("READY", flush=True)
        await task

    asyncio.run(serve())


if __name__ == "__main__":
    main()
