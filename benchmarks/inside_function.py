"""Time spent inside the app's function per image: decoding, preprocessing, CNN inference, the whole handler.

    .venv/bin/python -m benchmarks.inside_function [--runs 300]

One thread, as the app runs on a CPU. "decode+preprocess+cnn" is an uploaded PNG file to the CNN's
Prediction; "app handler" is the page's function for the pad's live readout (one live update: strokes -> the
selected network's answer), for the pen-up drawing event and for an upload (every network, saliency and the views'
data).
"batched" is the CNN's per-image cost when N images share one forward pass (what Gradio batch=True would buy).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from PIL import Image

from digitnet.drawing import to_input
from digitnet.lab.metrics import summary_ms
from digitnet.lab.serving import EXAMPLE_7, machine, pad_value
from digitnet.page import handlers
from digitnet.predict import Networks
from digitnet.preprocess import preprocess


def timed(fn, runs: int, warmup: int = 20) -> dict[str, float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return summary_ms(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=300)
    opts = parser.parse_args()
    networks = Networks.load()
    torch.set_num_threads(1)  # as app.launch() does on a CPU
    h = handlers(networks)
    drawing = pad_value()  # the example 7 as the pad sends it (strokes)
    cnn = networks.predictors["cnn"]
    print(machine(), f"; torch threads {torch.get_num_threads()}, device {cnn.device}")
    path = str(EXAMPLE_7)
    x = preprocess(path)
    stages = {
        "decode (PIL, PNG file)": lambda: np.asarray(Image.open(path).convert("L")),
        "preprocess (file -> 28x28)": lambda: preprocess(path),
        "cnn inference (one image)": lambda: cnn.predict_arrays([x]),
        "decode+preprocess+cnn": lambda: cnn.predict_arrays([preprocess(path)]),
        "pad drawing -> 28x28 (render + preprocess)": lambda: to_input(drawing),
        "live update (strokes -> the selected network's answer)": lambda: h.live(drawing | {"model": "cnn"}),
        "live update, cnn_oe": lambda: h.live(drawing | {"model": "cnn_oe"}),
        "live update, vae_bayes": lambda: h.live(drawing | {"model": "vae_bayes"}),
        "app handler, /draw (strokes -> every network -> views' data)": lambda: h.draw(drawing, "cnn"),
        "app handler, /draw, vae_bayes selected (its saliency)": lambda: h.draw(drawing, "vae_bayes"),
        "app handler, /upload (file -> every network -> views' data)": lambda: h.show(path, "cnn"),
    }
    print("| stage | median ms | p95 ms | p99 ms |\n|---|---|---|---|")
    for name, fn in stages.items():
        s = timed(fn, opts.runs)
        print(f"| {name} | {s['median']:.2f} | {s['p95']:.2f} | {s['p99']:.2f} |", flush=True)
    print("\n| batch size | cnn ms per image (median) |\n|---|---|")
    for n in (1, 4, 16, 32):
        batch = [x] * n
        s = timed(lambda b=batch: cnn.predict_arrays(b), max(20, opts.runs // n))
        print(f"| {n} | {s['median'] / n:.3f} |")


if __name__ == "__main__":
    main()
