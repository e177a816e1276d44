"""The flags of ``talking-head demo`` (and of ``python demo/app.py``, which reads the same ones).

Plain argparse (plus the shared marking flags); it imports nothing of ``demo``. Both ``talking_head.commands.demo`` and
``demo.app`` import it, so neither imports the other's module to share the flags and no import circle forms.
"""

from __future__ import annotations

import argparse

from .provenance_options import add_marking_arguments

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
                        help="FOMM weights for the video-driven tab and the fomm backend of the photo + voice tab "
                             "(default: $TALKING_HEAD_FOMM_MODEL; neither without them)")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="jobs rendered at once (default: $TALKING_HEAD_DEMO_CONCURRENCY or 1)")
    parser.add_argument("--temp-dir", default=None,
                        help="folder for uploads and job files, cleaned up as jobs finish "
                             "(default: $TALKING_HEAD_DEMO_TMP or <system temp>/talking-head-demo)")
    add_marking_arguments(parser)
