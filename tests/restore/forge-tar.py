#!/usr/bin/env python3
"""Writes a tar archive from a JSON entry list on stdin (tests only: hostile and upstream-style archives that
neither implementation would ever produce). Usage: forge-tar.py OUT [pax|gnu]
Entry: {"name", "type": file|contig|dir|symlink|hardlink|fifo|char, "data" (text), "link", "mode", "mtime", "uid", "gid",
"pax" (extra pax header records, e.g. {"comment": "x" * 2_000_000} for an oversized header)}"""
import io
import json
import sys
import tarfile

TYPES = {'file': tarfile.REGTYPE, 'contig': tarfile.CONTTYPE, 'dir': tarfile.DIRTYPE, 'symlink': tarfile.SYMTYPE, 'hardlink': tarfile.LNKTYPE,
         'fifo': tarfile.FIFOTYPE, 'char': tarfile.CHRTYPE}


def main() -> None:
    out, fmt = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else 'pax')
    entries = json.load(sys.stdin)
    with tarfile.open(out, 'w', format=tarfile.PAX_FORMAT if fmt == 'pax' else tarfile.GNU_FORMAT) as tar:
        for e in entries:
            info = tarfile.TarInfo(e['name'])
            info.type = TYPES[e.get('type', 'file')]
            info.mode = e.get('mode', 0o755 if e.get('type') == 'dir' else 0o644)
            info.mtime = e.get('mtime', 1700000000)
            info.uid, info.gid = e.get('uid', 0), e.get('gid', 0)
            info.linkname = e.get('link', '')
            info.pax_headers = e.get('pax', {})
            data = e.get('data', '').encode('utf-8', 'surrogateescape')
            has_data = info.type in (tarfile.REGTYPE, tarfile.CONTTYPE)
            info.size = len(data) if has_data else 0
            tar.addfile(info, io.BytesIO(data) if has_data else None)


main()
