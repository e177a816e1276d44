"""``talking-head keygen KEYFILE``: make a private watermark key.

Videos marked with it (``--watermark-key KEYFILE`` on ``animate``, ``drive``, the demo, or
``$TALKING_HEAD_WATERMARK_KEY``) are found by ``talking-head detect --watermark-key KEYFILE`` and by no other key,
the public one included. The file is written atomically with mode 0600 and never over an existing file.
"""

from __future__ import annotations

import argparse

NAME = "keygen"
HELP = "make a private watermark key file (mode 0600): marks made with it are found only with it"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("keyfile", metavar="KEYFILE", help="where to write the new key (must not exist yet)")


def run(args: argparse.Namespace) -> int:
    from talking_head.provenance.keys import write_key_file

    key = write_key_file(args.keyfile)
    print(f"wrote {args.keyfile}: {key.name} (keep it secret and backed up: anyone holding it can add and remove "
          "the mark, and without it marked videos cannot be recognised)")
    return 0
