#!/usr/bin/env python3
"""The framework's layering, checked (issue 16): every #include of a HAWX header in a room's
sources and headers must name that room or one below it. Run by CTest (architecture_layers).
Usage: check_layers.py [SOURCE_ROOT]; exit 1 with one line per violation."""
import pathlib
import re
import sys

# room folder -> (its header prefix, the prefixes it may include besides its own)
ROOMS = {
    "sdk": ("sdk", set()),
    "framework/core": ("framework", {"sdk"}),
    "framework/data": ("data", {"sdk", "framework"}),
    "framework/cimport": ("cimport", {"sdk", "framework"}),
    "framework/engine": ("engine", {"sdk", "framework"}),
    "framework/zoo": ("zoo", {"sdk", "framework", "data", "engine"}),
    "framework/report": ("report", {"sdk", "framework"}),
    "framework/pipeline": ("pipeline", {"sdk", "framework", "data", "engine", "zoo"}),
    "framework/cli": (None, {"sdk", "framework", "data", "cimport", "engine", "zoo", "report", "pipeline"}),
    # plugins see only the SDK (and their own headers)
    "blocks": ("blocks", {"sdk"}),
    "plugins/metrics": ("metrics", {"sdk"}),
    "plugins/search": ("search", {"sdk"}),
    "accelerators": ("accelerators", {"sdk"}),
}
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]hawx/([a-z_]+)/')


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
    bad = []
    checked = 0
    for room, (own, allowed) in ROOMS.items():
        for p in sorted((root / room).rglob("*")):
            if p.suffix not in {".hpp", ".cpp", ".h", ".in"} or "examples" in p.parts:
                continue
            checked += 1
            for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1):
                m = INCLUDE.match(line)
                if m and m.group(1) != own and m.group(1) not in allowed:
                    bad.append(f"{p.relative_to(root)}:{n}: {room} includes hawx/{m.group(1)}/ (allowed: "
                               f"{', '.join(sorted(allowed | ({own} if own else set())))})")
    for b in bad:
        print(b)
    print(f"{checked} files checked, {len(bad)} includes against the layering")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
