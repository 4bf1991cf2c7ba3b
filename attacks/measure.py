"""What an attack costs the server and its other visitors: resident memory before, at peak and after (Linux /proc),
disk under a folder, the bytes of its open (also deleted) temporary files, this process's file-descriptor limit,
and another client's /classify of the 7 asked while the attack is under way."""

from __future__ import annotations

import contextlib
import os
import resource
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from attacks.clients import Answer, Api
from attacks.payloads import file_value
from attacks.target import Context
from digitnet.lab.serving import Server

VICTIM = "198.51.100.23"  # the other client's address (X-Forwarded-For from loopback)


@dataclass
class Result:
    attack: str
    answer: Answer
    before: float  # server RSS, MB, just before the attack
    peak: float  # server peak RSS during the attack (VmHWM reset before it)
    after: float  # server RSS a moment after the attack's last answer
    seconds: float
    notes: dict = field(default_factory=dict)

    @property
    def growth(self) -> float:
        return self.after - self.before

    @property
    def peak_growth(self) -> float:
        return self.peak - self.before


def reset_peak(server: Server) -> None:
    """Reset the server's peak resident memory (VmHWM) to its current value (Linux: /proc/<pid>/clear_refs)."""
    Path(f"/proc/{server.proc.pid}/clear_refs").write_text("5")


def measure(
    ctx: Context, name: str, attack: Callable[[Context, float], Answer], scale: float = 1.0, settle: float = 2.0
) -> Result:
    """Run one attack against ctx.server: its answer, the server's RSS before, at peak and `settle` s after."""
    time.sleep(0.5)
    before = ctx.server.memory_mb()["VmRSS"]
    reset_peak(ctx.server)
    t0 = time.perf_counter()
    try:
        answer = attack(ctx, scale)
    except httpx.HTTPError as e:
        answer = Answer("refused" if isinstance(e, httpx.HTTPStatusError) else "unclear", f"{type(e).__name__}: {e}")
    seconds = time.perf_counter() - t0
    time.sleep(settle)
    mem = ctx.server.memory_mb()
    return Result(name, answer, before, mem["VmHWM"], mem["VmRSS"], seconds, {"alive": ctx.server.alive()})


def disk(folder: Path) -> dict[str, int]:
    """Files, folders and bytes allocated on disk (blocks, not lengths) under folder (nothing if it is absent)."""
    files = dirs = allocated = 0
    for root, dirnames, filenames in os.walk(folder):
        dirs += len(dirnames)
        for name in filenames:
            try:
                allocated += os.lstat(os.path.join(root, name)).st_blocks * 512
                files += 1
            except OSError:
                pass
    return {"files": files, "dirs": dirs, "bytes": allocated + dirs * 4096}


def open_file_bytes(pid: int) -> int:
    """Bytes in the regular files process `pid` has open, deleted temporary files included."""
    total = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            st = os.stat(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if (st.st_mode & 0o170000) == 0o100000:
            total += st.st_blocks * 512
    return total


class Sampler:
    """Samples the server's open temporary files' bytes every 0.05 s in a thread (`with Sampler(pid) as s`);
    s.peak is the largest seen, over what was open before."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self.base = open_file_bytes(pid)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            with contextlib.suppress(OSError):
                self.peak = max(self.peak, open_file_bytes(self.pid) - self.base)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def raise_fd_limit(wanted: int) -> int:
    """Raise this process's open-file limit towards `wanted` (as far as allowed); the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for limit in (wanted, hard):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, limit), max(hard, limit)))
            break
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def other_client(ctx: Context, timeout: float = 30.0) -> tuple[Answer, float]:
    """A /classify of the 7 from another address on a new connection: its answer and the seconds it took."""
    seven = ctx.seven_path()
    victim = Api(ctx.server, address=VICTIM, timeout=timeout)
    t0 = time.perf_counter()
    try:
        answer = victim.call("classify", [file_value(seven), "cnn"])
    except httpx.HTTPError as e:
        answer = Answer("timeout" if isinstance(e, httpx.TimeoutException) else "unclear", type(e).__name__)
    finally:
        victim.close()
    return answer, time.perf_counter() - t0


def during(ctx: Context, attack: Callable[[], Answer], delay: float = 0.5) -> Answer:
    """Run `attack`, asking the other client's question `delay` s after it starts (once, in a thread)."""
    with ThreadPoolExecutor(1) as pool:
        asked = pool.submit(lambda: (time.sleep(delay), other_client(ctx))[1])
        answer = attack()
        victim, waited = asked.result()
    answer.victim, answer.waited = str(victim), waited
    return answer
