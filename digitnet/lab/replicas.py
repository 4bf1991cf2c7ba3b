"""N copies of the app behind nginx on loopback: the set-up of scripts/replicas.sh, benchmarks/replicas.py and
tests/test_replicas.py.

Each replica is `python app.py` with GRADIO_SERVER_NAME=127.0.0.1 and its own GRADIO_SERVER_PORT. nginx (Debian's
package; no root paths: its configuration, pid file, logs and temporary files live in a temporary folder) listens on
127.0.0.1 and spreads visitors over the replicas in one of two modes:

- affinity (the default): a visitor without the `digitnet_replica` cookie gets a random key, nginx hashes it to a
  replica (`hash ... consistent`) and sets the cookie, so every later request of that visitor (the page, uploads,
  the queue's POST /gradio_api/queue/join and its server-sent-event stream GET /gradio_api/queue/data) reaches the
  same replica. Browsers and gradio_client (which keeps the cookies of its first request) both send it back.
  nginx's `ip_hash` would also keep a visitor on one replica, but sends everyone behind one address (a school's
  NAT, or this loopback test) to the same replica.
- round robin (`affinity=False`): nginx's default, each request to the next replica, for comparison.

    .venv/bin/python -m digitnet.lab.replicas [--replicas 2] [--port 8080] [--no-affinity]   # until Ctrl-C
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from gradio_client import Client

from digitnet.lab.serving import ROOT, forwarded_for, free_port
from digitnet.settings import TRUSTED_PROXIES

COOKIE = "digitnet_replica"


def nginx_binary() -> str | None:
    """Debian installs nginx in /usr/sbin, which a normal user's PATH may lack."""
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)


def nginx_conf(ports: list[int], listen: int, folder: Path, affinity: bool = True) -> str:
    """nginx.conf for the replicas on `ports`, listening on 127.0.0.1:`listen`; everything it writes goes in folder."""
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=0;" for p in ports)
    balance = (
        "hash $affinity consistent;  # the visitor's cookie (or a new random key) picks the replica"
        if affinity
        else "# round robin: nginx's default"
    )
    cookie = f'add_header Set-Cookie "{COOKIE}=$affinity; Path=/; HttpOnly; SameSite=Lax" always;' if affinity else ""
    return f"""# Written by digitnet/lab/replicas.py; nginx -p {folder} -e {folder}/error.log -c {folder}/nginx.conf
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format replica '$msec|$status|$upstream_addr|$request_method|$uri';
    access_log {folder}/access.log replica;
    client_body_temp_path {folder}/tmp/body;
    proxy_temp_path {folder}/tmp/proxy;
    fastcgi_temp_path {folder}/tmp/fastcgi;
    uwsgi_temp_path {folder}/tmp/uwsgi;
    scgi_temp_path {folder}/tmp/scgi;
    client_max_body_size 10m;  # above the app's own 5 MB limit, so that the app gives its own message

    map $cookie_{COOKIE} $affinity {{
        ""      $request_id;
        default $cookie_{COOKIE};
    }}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ""      "";
    }}
    upstream replicas {{
        {balance}
{servers}
    }}
    server {{
        listen 127.0.0.1:{listen};
        location / {{
            proxy_pass http://replicas;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_buffering off;          # server-sent events reach the browser as they are sent
            proxy_request_buffering off;
            proxy_read_timeout 3600s;     # a queue stream may stay open while a visitor waits
            {cookie}
        }}
    }}
}}
"""


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


class CountingClient:
    """A gradio_client.Client whose predict() records the kind of every failure (exception type and the start of
    its message) in a shared Counter, then raises it as before; each call is bounded by `timeout` seconds."""

    def __init__(self, client: Client, kinds: collections.Counter, lock: threading.Lock, timeout: float) -> None:
        self.client, self.kinds, self.lock, self.timeout = client, kinds, lock, timeout

    def predict(self, *args, api_name: str):
        try:
            return self.client.submit(*args, api_name=api_name).result(timeout=self.timeout)
        except Exception as e:
            kind = f"{api_name}: {type(e).__name__}: {str(e).splitlines()[0][:90] if str(e) else ''}"
            with self.lock:
                self.kinds[kind] += 1
            raise


class Replicas:
    """`replicas` copies of app.py and nginx in front, on loopback. Has `url` and `client()` like
    digitnet.lab.serving.Server, so attacks.load.run_load drives it unchanged. Each replica's output goes to
    replica-<i>.log in the temporary folder (deleted by close())."""

    def __init__(
        self,
        replicas: int = 2,
        affinity: bool = True,
        port: int | None = None,
        timeout: float = 180.0,
        call_timeout: float = 60.0,
        quiet: bool = True,
    ) -> None:
        self.nginx_path = nginx_binary()
        if self.nginx_path is None:
            raise FileNotFoundError("nginx is not installed (Debian: apt-get install -y nginx)")
        self.call_timeout, self.quiet = call_timeout, quiet
        self.folder = Path(tempfile.mkdtemp(prefix="digitnet-replicas-"))
        self.ports = [free_port() for _ in range(replicas)]
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.failures: collections.Counter = collections.Counter()
        self._lock = threading.Lock()
        self.replicas: list[subprocess.Popen] = []
        self.nginx: subprocess.Popen | None = None
        try:
            for i, p in enumerate(self.ports):
                env = os.environ | {
                    "GRADIO_SERVER_NAME": "127.0.0.1",
                    "GRADIO_SERVER_PORT": str(p),
                    TRUSTED_PROXIES: "127.0.0.1",  # nginx, on loopback: the visitor is what it appends
                    "PYTHONUNBUFFERED": "1",
                }
                out = (self.folder / f"replica-{i}.log").open("ab") if quiet else None
                proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=out, stderr=out)
                self.replicas.append(proc)
                if out is not None:
                    out.close()  # the replica holds its own copy
            for p, proc in zip(self.ports, self.replicas, strict=True):
                wait_for_port(p, proc, timeout, f"replica on port {p}")
            for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
                (self.folder / "tmp" / sub).mkdir(parents=True, exist_ok=True)
            self.folder.chmod(0o755)  # nginx's workers run as an unprivileged user when nginx is started as root
            self.balance(affinity)
        except BaseException:
            self.close()
            raise

    def balance(self, affinity: bool, replicas: int | None = None) -> None:
        """(Re)start nginx in front of the first `replicas` replicas (default all), with or without affinity;
        clears its access log and the failure counts."""
        self._stop_nginx()
        self.affinity = affinity
        self.balanced = self.ports[: replicas or len(self.ports)]
        (self.folder / "access.log").unlink(missing_ok=True)
        self.failures.clear()
        conf = self.folder / "nginx.conf"
        conf.write_text(nginx_conf(self.balanced, self.port, self.folder, affinity))
        err = subprocess.DEVNULL if self.quiet else None
        # -e: the log for nginx's start-up, before it reads the configuration (else /var/log/nginx, root only)
        cmd = [self.nginx_path, "-p", str(self.folder), "-e", str(self.folder / "error.log"), "-c", str(conf)]
        self.nginx = subprocess.Popen(cmd, stderr=err)
        wait_for_port(self.port, self.nginx, 20, "nginx")

    def client(self, address: str | None = None) -> CountingClient:
        client = Client(self.url, verbose=False, headers=forwarded_for(address))  # address: serving.visitor
        return CountingClient(client, self.failures, self._lock, self.call_timeout)

    def alive(self) -> bool:
        return all(p.poll() is None for p in [*self.replicas, self.nginx] if p is not None)

    def log(self) -> list[tuple[int, str, str, str]]:
        """nginx's access log: (status, replica address, method, path) per request it answered."""
        path = self.folder / "access.log"
        rows = []
        for line in path.read_text().splitlines() if path.exists() else []:
            _, status, upstream, method, uri = line.split("|", 4)
            rows.append((int(status), upstream, method, uri))
        return rows

    def spread(self) -> dict[str, int]:
        """How many requests each replica answered (nginx's upstream address, '-' for none)."""
        return dict(sorted(collections.Counter(u for _, u, _, _ in self.log()).items()))

    def statuses(self) -> dict[str, int]:
        """HTTP status counts per kind of request, e.g. {'POST /gradio_api/queue/join 200': 12}."""
        return dict(sorted(collections.Counter(f"{m} {u} {s}" for s, _, m, u in self.log()).items()))

    def sessions_not_found(self) -> int:
        """How often a replica was asked for the event stream of a session it never saw (Gradio answers such a
        GET /gradio_api/queue/data with a "session not found" message inside the stream, logged as a 404), counted
        from the replicas' logs since they started (quiet mode only)."""
        logs = self.folder.glob("replica-*.log")
        return sum(path.read_text(errors="replace").count("HTTPException: 404") for path in logs)

    def _stop_nginx(self) -> None:
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.terminate()  # SIGTERM: nginx's fast shutdown
            try:
                self.nginx.wait(15)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait()
        self.nginx = None

    def close(self) -> None:
        self._stop_nginx()
        for proc in self.replicas:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.replicas:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Replicas:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve N replicas of the app behind nginx on 127.0.0.1.")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--port", type=int, default=8080, help="the balancer's port on 127.0.0.1")
    parser.add_argument("--no-affinity", action="store_true", help="round robin, no sticky sessions (breaks the app)")
    opts = parser.parse_args()
    with Replicas(opts.replicas, affinity=not opts.no_affinity, port=opts.port, quiet=False) as r:
        mode = "sticky sessions (cookie hash)" if r.affinity else "round robin, NO affinity"
        ports = ", ".join(str(p) for p in r.ports)
        print(f"{len(r.ports)} replicas on 127.0.0.1:{ports}; nginx ({mode}) on {r.url}; config in {r.folder}")
        print("Ctrl-C stops all of them.", flush=True)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):  # also when started in the background, where SIGINT is ignored
            signal.signal(sig, lambda *_: stop.set())
        while not stop.wait(1):
            if not r.alive():
                print("a replica or nginx exited; stopping", file=sys.stderr)
                break


if __name__ == "__main__":
    main()
