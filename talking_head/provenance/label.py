"""The "synthetic" label: container tags every MP4 reader shows (``ffprobe -show_format``, VLC, exiftool)."""

from __future__ import annotations

from typing import Mapping, Optional

from .payload import tool_version

#: Marker word the detector looks for in the comment/description tags.
SYNTHETIC_MARKER = "synthetic"
#: Container tag names written (the MP4 muxer keeps these two without extra flags).
LABEL_TAGS = ("comment", "description")


def synthetic_metadata(install_id: Optional[int] = None) -> dict[str, str]:
    """Container tags for a video this tool made: ``{"comment": ..., "description": ...}``, both saying it is
    synthetic (AI-generated) and naming the tool and version. Pass it to the video writer's metadata."""
    mark = "carries an invisible watermark (check with `talking-head detect`)"
    text = f"{SYNTHETIC_MARKER}: AI-generated talking-head video made by talking-head {tool_version()}; {mark}"
    if install_id is not None:
        text += f"; install id {int(install_id)}"
    return {tag: text for tag in LABEL_TAGS}


def has_synthetic_label(tags: Mapping[str, str]) -> bool:
    """True when any comment/description tag (any case) mentions the synthetic marker."""
    for name, value in tags.items():
        if name.lower() in LABEL_TAGS and SYNTHETIC_MARKER in str(value).lower():
            return True
    return False


#: Help text every ``--no-watermark`` flag (and ``watermark=False`` docstring) should use: the policy reads the same.
NO_WATERMARK_HELP = (
    "do NOT add the invisible watermark, the 'synthetic' label and the C2PA manifest (all on by default). Only "
    "for research that needs unmarked frames, e.g. measuring the watermark's own effect or building a "
    "detector's clean set; do not publish unmarked videos of real people"
)
