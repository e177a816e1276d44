"""Run the demo's render path in a fresh interpreter and print the top-level modules it imported (JSON).

Usage: ``python tests/demo/render_modules.py FACE VOICE TMP_DIR``. The app is built and launched on
127.0.0.1 as the Space runs it, one clip is rendered through ``/animate`` with gradio_client and checked
through ``/detect``; then every top-level name in ``sys.modules`` is printed, sorted, as a JSON list.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main(face: str, voice: str, tmp: str) -> None:
    os.environ["GRADIO_TEMP_DIR"] = str(Path(tmp) / "gradio")
    from gradio_client import Client, handle_file

    from demo.app import build_demo, load_pipelines
    from demo.settings import DemoSettings

    settings = DemoSettings(temp_dir=Path(tmp))
    blocks = build_demo(load_pipelines(settings), settings)
    _, url, _ = blocks.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True,
                              quiet=True)
    try:
        client = Client(url, verbose=False)
        video = client.predict(handle_file(face), handle_file(voice), api_name="/animate")
        video = video["video"] if isinstance(video, dict) else video
        report = client.predict(handle_file(video), api_name="/detect")
        if not str(report).startswith("### Yes"):
            raise SystemExit(f"the rendered clip carries no watermark: {report}")
    finally:
        blocks.close()
    print(json.dumps(sorted({name.split(".")[0] for name in list(sys.modules)})))


if __name__ == "__main__":
    main(*sys.argv[1:4])
