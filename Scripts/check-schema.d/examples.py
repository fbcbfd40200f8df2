#!/usr/bin/env python3
"""Usage: examples.py OUTDIR FILE...

Writes every fenced ```yaml block of the Markdown FILEs that is a whole topology
(it has a top-level `switches:` key) to OUTDIR as NAME-LINE.yaml, NAME being
the Markdown file's name and LINE the block's first line, and prints their paths.
A block without a top-level `name:` is a fragment of a topology: it gets
`name: example` at its end, so its lines keep their numbers.
"""
import re
import sys
from pathlib import Path

FENCE = re.compile(r"^```yaml[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
TOPOLOGY = re.compile(r"^switches:", re.MULTILINE)
NAME = re.compile(r"^name:", re.MULTILINE)


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.yaml"):
        old.unlink()
    for name in argv[1:]:
        text = Path(name).read_text()
        for match in FENCE.finditer(text):
            block = match.group(1)
            if not TOPOLOGY.search(block):
                continue
            line = text.count("\n", 0, match.start(1)) + 1
            path = out / f"{Path(name).stem}-{line}.yaml"
            if not NAME.search(block):
                block += "name: example\n"
            path.write_text(block)
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
