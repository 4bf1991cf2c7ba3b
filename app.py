"""digitnet web app: draw or upload a digit, see every network's ten probabilities. `python app.py` to run.

Wiring only: the networks are loaded here, explicitly, and the page (digitnet/page.py) is built for them.
Server name and port come from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (Gradio reads them itself).
"""

from __future__ import annotations

# On Hugging Face ZeroGPU, `spaces` must be imported before torch initialises CUDA.
try:
    import spaces
except ImportError:
    spaces = None

import os

import torch

from digitnet.guard import return_freed_memory
from digitnet.page import build, launch_options
from digitnet.predict import Networks

networks = Networks.load()
demo = build(networks, gpu=spaces.GPU if spaces is not None else None, cpus=os.cpu_count() or 1)


def launch(**kwargs):
    """Start the server with the app's serving settings (extra keyword arguments go to demo.launch)."""
    if not networks.on_gpu:
        # One image per request: intra-op threads only contend with each other and with concurrent requests
        # (cnn on 2 busy cores: 1.3 ms with 1 thread, 54-200 ms with 2).
        torch.set_num_threads(1)
    return_freed_memory()  # a large upload's decoded pixels leave the process once freed (digitnet/guard.py)
    return demo.launch(**launch_options(), **kwargs)


if __name__ == "__main__":
    launch()
