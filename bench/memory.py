"""Peak memory of this process and every process it started, sampled from /proc.

`resource.getrusage` only knows the largest single child that has exited, and the text
engines' worker processes run beside the parent, so the benchmark measures the whole
process tree itself, four times a second. A plain RSS sample misses a spike shorter than
the interval, so each sample takes every process's own kernel high-water mark (VmHWM) and
resets it (`/proc/<pid>/clear_refs`): the sum is the most each process held at any instant
since the previous sample. That is an upper bound of the tree's true peak (the processes'
peaks may fall at different instants of the same quarter second) from which no spike
escapes. Where the mark cannot be reset, the sample falls back to the current RSS (a lower
bound). A cap stops a run that would exhaust the machine before the kernel's OOM killer
picks a victim at random.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended while we looked
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (children, their children, ...)."""
    children, found, stack = _children_map(), [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def rss_bytes(pid: int) -> int:
    try:
        return int((Path(f"/proc/{pid}/statm")).read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def over_tree(measure: Callable[[int], int], pid: int | None = None) -> int:
    """`measure` summed over `pid` (default: this process) and all its descendants."""
    root = pid or os.getpid()
    return sum(measure(each) for each in (root, *descendants(root)))


def tree_rss(pid: int | None = None) -> int:
    """Resident bytes of `pid` (default: this process) and all its descendants."""
    return over_tree(rss_bytes, pid)


HIGH_WATER_MARK = re.compile(r"^VmHWM:\s+(\d+) kB", re.MULTILINE)


def peak_since_last_call(pid: int) -> int:
    """The most `pid` held resident since the previous call (its kernel high-water mark,
    then reset), or its current RSS where the mark cannot be read or reset."""
    try:
        found = HIGH_WATER_MARK.search(Path(f"/proc/{pid}/status").read_text())
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return rss_bytes(pid)
    return int(found.group(1)) * 1024 if found else rss_bytes(pid)


def tree_peak(pid: int | None = None) -> int:
    """The sum over `pid` (default: this process) and its descendants of what each held at
    most since the previous call."""
    return over_tree(peak_since_last_call, pid)


class MemorySampler:
    """Samples the process tree's peak (`tree_peak`) in a daemon thread; `phase()` starts a
    new peak."""

    def __init__(
        self,
        interval: float = 0.25,
        cap_bytes: int | None = None,
        on_cap: Callable[[str, int], None] | None = None,
    ) -> None:
        self.interval = interval
        self.cap_bytes = cap_bytes
        self.on_cap = on_cap
        self.peaks: dict[str, int] = {}
        self.timeline: list[tuple[float, int]] = []  # (time.time(), process-tree peak)
        self.current = "idle"
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with self._lock:
            self._count_tail()

    def phase(self, name: str) -> None:
        """End the current phase and start `name` from the tree's present RSS."""
        with self._lock:
            self._count_tail()
            self.current = name
            self.peaks[name] = tree_rss()

    def _count_tail(self) -> None:
        """The current phase's last partial interval counts in its peak."""
        self.peaks[self.current] = max(self.peaks.get(self.current, 0), tree_peak())

    def peak(self, name: str) -> int:
        with self._lock:
            return self.peaks.get(name, 0)

    def peak_between(self, start: float, end: float) -> int:
        """The highest sample covering any of the time between two `time.time()` instants
        (0 if none): a sample taken at t covers the interval before it."""
        with self._lock:
            return max(
                (rss for t, rss in self.timeline if start <= t <= end + self.interval), default=0
            )

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            rss = tree_peak()
            with self._lock:
                self.timeline.append((time.time(), rss))
                name = self.current
                self.peaks[name] = max(self.peaks.get(name, 0), rss)
            if self.cap_bytes and rss > self.cap_bytes and self.on_cap:
                self.on_cap(name, rss)
                return


def kill_descendants() -> None:
    """SIGKILL every process this one started (worker pools), by pid."""
    for pid in reversed(descendants(os.getpid())):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
