"""Command-line options shared by the commands that write videos (``animate``, ``drive``): the watermark key and
the operator's C2PA signing certificate."""

from __future__ import annotations

import argparse

from talking_head.provenance.c2pa_manifest import CERT_ENV, KEY_ENV as C2PA_KEY_ENV
from talking_head.provenance.keys import KEY_ENV

WATERMARK_KEY_HELP = (f"private watermark key file (made by `talking-head keygen`): the mark is then found only with "
                      f"this key (default: ${KEY_ENV}, else the public key anyone can detect)")
C2PA_CERT_HELP = (f"PEM certificate chain (signer first) to sign the C2PA manifest with (default: ${CERT_ENV}, else "
                  "a local test certificate); needs --c2pa-key")
C2PA_KEY_HELP = f"PEM private key of --c2pa-cert (default: ${C2PA_KEY_ENV})"


def add_marking_arguments(parser: argparse.ArgumentParser) -> None:
    """``--watermark-key KEYFILE``, ``--c2pa-cert PEM``, ``--c2pa-key PEM``."""
    parser.add_argument("--watermark-key", metavar="KEYFILE", help=WATERMARK_KEY_HELP)
    parser.add_argument("--c2pa-cert", metavar="PEM", help=C2PA_CERT_HELP)
    parser.add_argument("--c2pa-key", metavar="PEM", help=C2PA_KEY_HELP)


def marking_options(args: argparse.Namespace) -> dict:
    """The keyword arguments ``TalkingHead.animate`` and ``drive`` take for these options."""
    return {"watermark_key": args.watermark_key, "c2pa_cert": args.c2pa_cert, "c2pa_key": args.c2pa_key}
