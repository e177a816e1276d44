"""``talking-head drive``: animate a still image with the motion of a driving video (FOMM)."""

from __future__ import annotations

import argparse

from talking_head.commands import positive_int
from fomm_core.precision import AUTO, PRECISIONS
from talking_head.commands.provenance_options import add_marking_arguments, marking_options
from talking_head.drive import DEFAULT_BATCH_SIZE, MAX_DETAIL_SIDE, DriveOptions, drive
from talking_head.media.video_writer import DEFAULT_CRF
from talking_head.provenance import NO_WATERMARK_HELP

NAME = "drive"
HELP = "animate a source image with the motion of a driving video (First Order Motion Model)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SOURCE_IMAGE", help="the still image to animate (any format and size)")
    parser.add_argument("driving", metavar="DRIVING_VIDEO", help="the video whose motion drives it")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.mp4", help="the MP4 to write")
    parser.add_argument("--model", required=True, metavar="DIR", help="FOMM model folder (convert-fomm output) or hub id")
    parser.add_argument("--absolute", action="store_true", help="absolute keypoints instead of relative motion")
    parser.add_argument(
        "--no-adapt-scale", dest="adapt_scale", action="store_false",
        help="do not scale relative motion by the ratio of the keypoint clouds' sizes",
    )
    parser.add_argument(
        "--find-best-frame", action="store_true",
        help="start the relative motion from the driving frame whose keypoints are closest to the source's",
    )
    parser.add_argument("--batch-size", type=positive_int, default=DEFAULT_BATCH_SIZE, help="frames per network call")
    parser.add_argument(
        "--precision", choices=list(PRECISIONS), default=AUTO,
        help="number format: auto (default: bf16 autocast + channels-last on CUDA and on CPUs with AMX or "
             "AVX-512 BF16, else fp32), fp32 or bf16",
    )
    parser.add_argument("--bf16", action="store_true", help="same as --precision bf16")
    parser.add_argument(
        "--no-detail", dest="detail", action="store_false",
        help="frames at the model's resolution (default: the source square's own size, up to "
             f"{MAX_DETAIL_SIDE} px, with the photo's fine texture carried by the motion)",
    )
    parser.add_argument("--channels-last", action="store_true", help="channels-last memory format (faster convolutions on CPU)")
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:1, ...)")
    parser.add_argument("--crf", type=int, default=DEFAULT_CRF, help="x264 quality (lower is better)")
    parser.add_argument("--no-watermark", action="store_true", help=NO_WATERMARK_HELP)
    add_marking_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    def progress(stage: str, total: int):
        return tqdm(total=total, desc=stage, unit="frame", dynamic_ncols=True)

    options = DriveOptions(
        relative=not args.absolute,
        adapt_scale=args.adapt_scale,
        find_best_frame=args.find_best_frame,
        batch_size=args.batch_size,
        bf16=args.bf16,
        channels_last=args.channels_last,
        precision=args.precision,
        detail=args.detail,
    )
    out = drive(args.source, args.driving, args.output, args.model, options, progress, crf=args.crf, device=args.device,
                watermark=not args.no_watermark, **marking_options(args))
    tqdm.write(f"wrote {out}")
    return 0
