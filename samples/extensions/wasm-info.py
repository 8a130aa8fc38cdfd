#!/usr/bin/env python3
"""Print magic/version, imports and exports of wasm modules (no dependencies).

usage: wasm-info.py FILE.wasm...   (exit status 1 if a file is not a wasm module)
"""
import sys

KINDS = {0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}


def leb(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, pos


def name(buf, pos):
    n, pos = leb(buf, pos)
    return buf[pos:pos + n].decode("utf-8", "replace"), pos + n


def skip_import_desc(buf, pos, kind):
    if kind == 0:  # func: type index
        _, pos = leb(buf, pos)
    elif kind == 1:  # table: reftype + limits
        pos += 1
        flags, pos = leb(buf, pos)
        _, pos = leb(buf, pos)
        if flags & 1:
            _, pos = leb(buf, pos)
    elif kind == 2:  # memory: limits
        flags, pos = leb(buf, pos)
        _, pos = leb(buf, pos)
        if flags & 1:
            _, pos = leb(buf, pos)
    elif kind == 3:  # global: valtype + mut
        pos += 2
    elif kind == 4:  # tag
        pos += 1
        _, pos = leb(buf, pos)
    return pos


def info(path):
    buf = open(path, "rb").read()
    if buf[:4] != b"\0asm":
        raise ValueError("bad magic %r" % buf[:4])
    version = int.from_bytes(buf[4:8], "little")
    imports, exports, pos = [], [], 8
    while pos < len(buf):
        sid = buf[pos]
        size, pos = leb(buf, pos + 1)
        end = pos + size
        if sid == 2:
            count, p = leb(buf, pos)
            for _ in range(count):
                mod, p = name(buf, p)
                nm, p = name(buf, p)
                kind = buf[p]
                p = skip_import_desc(buf, p + 1, kind)
                imports.append((KINDS.get(kind, kind), mod, nm))
        elif sid == 7:
            count, p = leb(buf, pos)
            for _ in range(count):
                nm, p = name(buf, p)
                kind = buf[p]
                _, p = leb(buf, p + 1)
                exports.append((KINDS.get(kind, kind), nm))
        pos = end
    return version, imports, exports


def main():
    status = 0
    for path in sys.argv[1:]:
        try:
            version, imports, exports = info(path)
        except Exception as e:  # noqa: BLE001
            print("%s: NOT A WASM MODULE: %s" % (path, e))
            status = 1
            continue
        abi = [n for _, n in exports if n.startswith("proxy_abi_version_")]
        print("%s: wasm v%d, abi=%s, %d imports, %d exports" % (path, version, ",".join(abi) or "-", len(imports), len(exports)))
        for kind, mod, nm in imports:
            print("  import %-6s %s::%s" % (kind, mod, nm))
        for kind, nm in exports:
            print("  export %-6s %s" % (kind, nm))
    return status


if __name__ == "__main__":
    sys.exit(main())
