"""``talking-head demo``: serve the Gradio app (photo + voice -> talking video) in the browser.

Import direction: ``demo`` imports ``talking_head``, never the reverse at import time. This command is
the one exception, and only at run time: :func:`run` imports ``demo.app`` lazily, after argv is parsed,
so ``import talking_head`` (and ``talking-head --help``) never loads Gradio or the ``demo`` package. The
flags live in :mod:`talking_head.commands.demo_options`, which ``demo.app`` reads too; nothing in ``demo``
imports this module, so the lazy import closes no circle (``tests/test_import_graph.py`` checks both).
"""

from __future__ import annotations

import argparse

from .demo_options import HELP, add_arguments

NAME = "demo"
__all__ = ["NAME", "HELP", "add_arguments", "run"]


def run(args: argparse.Namespace) -> int:
    from demo.app import serve_from_args  # lazy on purpose: see the module docstring

    return serve_from_args(args)
