"""The ``talking-head`` command line. Each sub-command lives in its own module under ``commands/``.

A command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
Errors the user can fix (:class:`fomm_core.errors.InputError`) print as one line, exit code 2 unless the
command says otherwise; nothing prints a traceback at the user.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import List, Optional

from fomm_core.errors import InputError

#: Sub-command modules, in the order ``--help`` lists them.
COMMANDS: List[str] = [
    "animate",  # photo + voice -> talking video (issue 3)
    "demo",  # the Gradio app (issue 6)
    "drive",  # photo + driving video -> video (issue 2)
    "convert_fomm",  # official FOMM checkpoint -> model folder (issue 2)
    "detect",  # is this video made by this tool? (issue 7)
    "keygen",  # private watermark key (issue 16)
    "prepare",  # talking-face videos -> audio2kp training shards (issue 4)
    "synth_corpus",  # synthetic espeak-ng corpus for audio2kp (issue 4)
    "train_audio2kp",
    "eval_audio2kp",
    "train_fomm",  # self-supervised FOMM training (issue 8)
    "eval_fomm",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="talking-head", description="Make a still face speak.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"talking_head.commands.{name}")
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser




def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except InputError as exc:
        print(f"talking-head {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"talking-head {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
