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
    "distill_audio2kp",  # photos + speech -> audio2kp shards through the FOMM motion bridge (issue 13)
    "train_audio2kp",
    "eval_audio2kp",
    "assemble_learned",  # FOMM + trained audio2kp -> a learned model folder (issue 13)
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
    from talking_head.signals import exit_code, signal_name, stop_on_signals

    try:
        with stop_on_signals():  # SIGTERM and SIGHUP unwind like Ctrl-C: no temporary file is left behind
            return int(args._run(args) or 0)
    except InputError as exc:
        print(f"talking-head {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        name = signal_name(exc)
        print(f"talking-head {args.command}: {'stopped by ' + name if name else 'interrupted'}", file=sys.stderr)
        return exit_code(exc)


if __name__ == "__main__":
    sys.exit(main())
