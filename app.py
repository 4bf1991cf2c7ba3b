"""digitnet web app: draw or upload a digit, see every network's ten probabilities. `python app.py` to run.

Wiring only: the networks are loaded here, explicitly, the settings read (digitnet/settings.py), and the page
(digitnet/page.py) is built for them.
Server name and port come from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT; digitnet/server.py serves the page under
uvicorn with the connection limits Gradio's own launch() cannot set.
"""

from __future__ import annotations

# On Hugging Face ZeroGPU, `spaces` must be imported before torch initialises CUDA.
try:
    import spaces
except ImportError:
    spaces = None

import os

import torch

from digitnet.page import build
from digitnet.predict import Networks
from digitnet.server import return_freed_memory, serve
from digitnet.settings import Settings

networks = Networks.load()
settings = Settings.from_env(os.environ)  # every DIGITNET_* variable, read once (digitnet/settings.py)
app = build(networks, settings, gpu=spaces.GPU if spaces is not None else None, cpus=os.cpu_count() or 1)
demo = app.blocks


def launch(server_name: str | None = None, server_port: int | None = None, quiet: bool = False) -> None:
    """Serve the app until the process is stopped, with its serving settings (digitnet/server.py)."""
    if not networks.on_gpu:
        # One image per request: intra-op threads only contend with each other and with concurrent requests
        # (cnn on 2 busy cores: 1.3 ms with 1 thread, 54-200 ms with 2).
        torch.set_num_threads(1)
    return_freed_memory()  # a large upload's decoded pixels leave the process once freed (digitnet/server.py)
    serve(app, server_name=server_name, server_port=server_port, quiet=quiet)


if __name__ == "__main__":
    launch()
