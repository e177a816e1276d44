"""``talking-head detect VIDEO_OR_IMAGE...``: tell a video made by talking-head from one that is not.

Prints one line per file (watermark found or not, p-value, payload, label) and a summary. Exit status as grep's:
0 when every file carries the watermark, 1 when one or more does not, 2 when a file could not be read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from fomm_core.errors import InputError

NAME = "detect"
HELP = ("check videos/images for talking-head's invisible watermark and 'synthetic' label; exit 0 if all are "
        "watermarked, 1 if any is not, 2 on an unreadable file")

#: Exit codes, as grep's.
EXIT_ALL_MARKED = 0
EXIT_SOME_UNMARKED = 1
EXIT_ERROR = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="VIDEO_OR_IMAGE", help="files to check (MP4 or any video "
                        "PyAV decodes; PNG/JPEG or any image Pillow reads)")
    parser.add_argument("--watermark-key", action="append", default=[], metavar="KEYFILE",
                        help="also try this private key file (repeatable; default: $TALKING_HEAD_WATERMARK_KEY if "
                        "set); the public key is always tried, and the output says which key matched")
    parser.add_argument("--key", default=None, help="a shared key string to try instead of talking-head's public key")
    parser.add_argument("--json", action="store_true", help="print one JSON object per file instead of text")


def _describe(report) -> str:
    mark = report.watermark
    if mark.found:
        p_text = f"p={mark.p_value:.1e}" if mark.p_value > 0 else f"log10 p={mark.log10_p_value:.0f}"
        if mark.payload is not None:
            pay = mark.payload
            payload = f"{pay.tool_name} {pay.version}, install id {pay.install_id}"
        else:
            payload = "payload unreadable"
        moved = "" if mark.transform.describe() == "unchanged" else f"; {mark.transform.describe()}"
        text = f"WATERMARKED with {report.key} ({p_text}, z={mark.z:.1f}; {payload}{moved})"
    else:
        tried = " or ".join(name for name, _ in report.results)
        text = f"no watermark with the {tried} (p={mark.p_value:.2g}, z={mark.z:.1f})"
    label = "label: synthetic" if report.label_present else "label: none"
    if report.c2pa is None:
        c2pa = "C2PA: none"
    else:
        state = "trusted" if report.c2pa.trusted else ("valid, untrusted signer" if report.c2pa.signature_valid
                                                       else "INVALID (changed after signing?)")
        signer = f", signed by {report.c2pa.signer}" if report.c2pa.signer else ""
        c2pa = f"C2PA: {report.c2pa.generator}, {'AI-generated, ' if report.c2pa.ai_generated else ''}{state}{signer}"
    return f"{report.path}: {report.kind}, {text}; {label}; {c2pa}"


def _as_json(report) -> str:
    mark = report.watermark
    payload = None
    if mark.payload is not None:
        payload = {"tool": mark.payload.tool_name, "version": mark.payload.version,
                   "install_id": mark.payload.install_id}
    return json.dumps({"path": report.path, "kind": report.kind, "watermarked": mark.found,
                       "p_value": mark.p_value, "log10_p_value": mark.log10_p_value, "z": mark.z,
                       "payload": payload, "label_present": report.label_present, "frames": mark.frames,
                       "key": report.key, "transform": mark.transform.describe(),
                       "keys_tried": [{"key": name, "watermarked": r.found, "log10_p_value": r.log10_p_value}
                                      for name, r in report.results],
                       "c2pa": None if report.c2pa is None else vars(report.c2pa)})


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from talking_head.provenance import DEFAULT_KEY, KEY_ENV, detect, read_key_file

    if args.key is not None and not args.key:
        raise InputError("--key must not be empty")
    key_files = args.watermark_key or ([os.environ[KEY_ENV]] if os.environ.get(KEY_ENV) else [])
    keys = [DEFAULT_KEY if args.key is None else args.key] + [read_key_file(path) for path in key_files]
    marked = unmarked = errors = 0
    for path in tqdm(args.paths, desc="detect", unit="file", disable=len(args.paths) < 2, leave=False):
        try:
            report = detect(path, keys=keys)
        except InputError as exc:
            errors += 1
            if args.json:
                print(json.dumps({"path": str(path), "error": str(exc)}))
            else:
                print(f"talking-head detect: error: {exc}", file=sys.stderr)
            continue
        marked += report.watermark.found
        unmarked += not report.watermark.found
        print(_as_json(report) if args.json else _describe(report), flush=True)
    if not args.json:
        print(f"{len(args.paths)} file(s): {marked} watermarked, {unmarked} not watermarked, {errors} unreadable")
    if errors:
        return EXIT_ERROR
    return EXIT_SOME_UNMARKED if unmarked else EXIT_ALL_MARKED
