"""app.py for the URL-path attacks only: Gradio's download guard here counts loopback as a public host.

Gradio refuses to fetch file paths that point at private addresses, so a loopback web server cannot show what a
public one would get. Served this way (`Server("attacks.loopback_public")`), the app treats 127.0.0.1 as
Gradio treats huggingface.co, and an attack can show with a local server whether an http(s) file path is
fetched, and at what cost. Never used to serve the app.
"""

from __future__ import annotations

from gradio import processing_utils

processing_utils.PUBLIC_HOSTNAME_WHITELIST.append("127.0.0.1")

from app import demo, launch  # noqa: E402  (after the whitelist is changed)

__all__ = ["demo", "launch"]
