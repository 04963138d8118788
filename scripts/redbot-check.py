#!/usr/bin/env python3
"""Checks one URL with REDbot, an outside HTTP linter (pip install redbot), and
prints what it says, one note a line with its level.

usage: redbot-check.py URL [NAME:VALUE ...]
    NAME:VALUE are request header fields to send, e.g. Range:bytes=0-99 to
    have REDbot check a 206 response.

Output: the status line of the response REDbot got, then one line per note,
'LEVEL NOTE_ID: summary' (subnotes indented; BAD and WARN notes end with the
values they are about in [name=value ...]). Exit status: 0 when no note is
BAD or WARN, 1 when some are, 2 when REDbot could not fetch the URL.

REDbot's own command line (`redbot URL`) prints the same notes without their
levels; this uses its library instead so that the levels can be counted.
"""

import sys
from configparser import ConfigParser

import thor
from redbot.resource import HttpResource


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    url = sys.argv[1]
    headers = []
    for field in sys.argv[2:]:
        name, sep, value = field.partition(":")
        if not sep:
            print(f"redbot-check: {field!r} is not NAME:VALUE", file=sys.stderr)
            return 2
        headers.append((name.strip(), value.strip()))

    config = ConfigParser()
    # Our server runs at a private address inside a test namespace.
    config.read_dict({"redbot": {"enable_local_access": "True"}})
    resource = HttpResource(config["redbot"])
    resource.set_request(url, headers=headers)

    @thor.events.on(resource)
    def check_done() -> None:
        thor.stop()

    resource.check()
    thor.run()

    if resource.fetch_error is not None or resource.response.status_code is None:
        print(f"redbot-check: cannot fetch {url}: {resource.fetch_error}", file=sys.stderr)
        return 2
    response = resource.response
    print(f"HTTP/{response.version} {response.status_code_str} {response.status_phrase} {url}")
    flagged = 0

    def show(notes, depth: int) -> None:
        nonlocal flagged
        for note in notes:
            level = note.level.name
            if level in ("BAD", "WARN"):
                flagged += 1
            line = f"{'  ' * depth}{level} {note.__class__.__name__}: {note.summary}"
            details = getattr(note, "vars", None) or {}
            if level in ("BAD", "WARN") and details:
                # What the note is about (e.g. declared and sniffed types).
                line += " [" + " ".join(f"{k}={v}" for k, v in sorted(details.items())) + "]"
            print(line)
            show(note.subnotes, depth + 1)

    show(response.notes, 1)
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main())
