"""``talking-head demo``: serve the Gradio app (photo + voice -> talking video) in the browser.

Import direction: ``demo`` imports ``talking_head``, never the reverse at import time. This command is
the one exception, and only at run time: :func:`run` imports ``demo.app`` lazily, after argv is parsed,
so ``import talking_head`` (and ``talking-head --help``) never loads Gradio or the ``demo`` package.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path

from talking_head.commands.provenance_options import add_marking_arguments, marking_options

NAME = "demo"
HELP = "Serve the web demo: upload or record a face and a voice, get the talking video (Gradio)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None,
                        help="address to listen on (default: $GRADIO_SERVER_NAME or 127.0.0.1; 0.0.0.0 for all)")
    parser.add_argument("--port", type=int, default=None,
                        help="port (default: $GRADIO_SERVER_PORT or the first free one from 7860)")
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    parser.add_argument("--model", default=None, metavar="DIR_OR_REPO_ID",
                        help="learned weights (folder or hub repo id; default: $TALKING_HEAD_MODEL, "
                             "else the offline backend only)")
    parser.add_argument("--fomm-model", default=None, metavar="DIR_OR_REPO_ID",
                        help="FOMM weights for the video-driven tab (default: $TALKING_HEAD_FOMM_MODEL; "
                             "no tab without them)")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="jobs rendered at once (default: $TALKING_HEAD_DEMO_CONCURRENCY or 1)")
    parser.add_argument("--temp-dir", default=None,
                        help="folder for uploads and job files, cleaned up as jobs finish "
                             "(default: $TALKING_HEAD_DEMO_TMP or <system temp>/talking-head-demo)")
    add_marking_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from demo.app import serve  # lazy on purpose: see the module docstring
    from demo.settings import DemoSettings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = DemoSettings.from_env()
    given = {"model": args.model, "fomm_model": args.fomm_model, "concurrency": args.concurrency,
             "temp_dir": Path(args.temp_dir) if args.temp_dir else None, **marking_options(args)}
    settings = replace(settings, **{k: v for k, v in given.items() if v is not None})  # flags over environment
    serve(settings, host=args.host, port=args.port, share=args.share)
    return 0
