"""Python's asyncio subprocess support on the benchmark workloads (one run per invocation).

Usage: asyncio_peer.py WORKLOAD N [FLOOD4_SCRIPT]
Prints one JSON object of metrics on stdout, the same shape as the Rust workers and
bench/twisted/peer.py. Timing starts just before the first spawn.
"""

import asyncio
import fcntl
import json
import os
import sys
import time

MIB = 1024.0 * 1024.0
LINE = b"0123456789abcde\n"
READ = 256 * 1024


async def flood1(n):
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        "head", "-c", str(n), "/dev/zero",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
    )
    got = 0
    while True:
        chunk = await proc.stdout.read(READ)
        if not chunk:
            break
        got += len(chunk)
    await proc.wait()
    secs = time.perf_counter() - start
    if got != n:
        return {"error": f"expected {n} bytes, received {got}"}
    return {"mib_s": n / MIB / secs, "secs": secs}


class Fair:
    def __init__(self):
        self.counts, self.snapshot = [0, 0, 0, 0], None
        self.open = 4
        self.done = asyncio.get_running_loop().create_future()

    def add(self, fd, n):
        self.counts[fd - 1] += n

    def eof(self, fd):
        if self.snapshot is None:
            self.snapshot = list(self.counts)
        self.open -= 1
        if self.open == 0 and not self.done.done():
            self.done.set_result(None)


class ChildProto(asyncio.SubprocessProtocol):
    def __init__(self, fair):
        self.fair = fair
        self.exited = asyncio.get_running_loop().create_future()

    def pipe_data_received(self, fd, data):
        self.fair.add(fd, len(data))

    def pipe_connection_lost(self, fd, exc):
        if fd in (1, 2):
            self.fair.eof(fd)

    def process_exited(self):
        if not self.exited.done():
            self.exited.set_result(None)


class PipeProto(asyncio.Protocol):
    def __init__(self, fair, fd):
        self.fair, self.fd = fair, fd

    def data_received(self, data):
        self.fair.add(self.fd, len(data))

    def eof_received(self):
        return False

    def connection_lost(self, exc):
        self.fair.eof(self.fd)


async def flood4(n, script):
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    fair = Fair()
    pipes = [os.pipe() for _ in range(2)]
    # Keep the write ends above 4 so that dup2 onto 3 and 4 cannot clobber them.
    writes = [fcntl.fcntl(w, fcntl.F_DUPFD_CLOEXEC, 10) for _, w in pipes]
    for _, w in pipes:
        os.close(w)

    def place_fds():
        os.dup2(writes[0], 3)
        os.dup2(writes[1], 4)

    transport, proto = await loop.subprocess_exec(
        lambda: ChildProto(fair), "sh", "-c", script, "sh", str(n),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, close_fds=False, preexec_fn=place_fds,
    )
    for w in writes:
        os.close(w)
    for fd, (r, _) in zip((3, 4), pipes):
        await loop.connect_read_pipe(lambda fd=fd: PipeProto(fair, fd), os.fdopen(r, "rb", 0))
    await fair.done
    await proto.exited
    secs = time.perf_counter() - start
    transport.close()
    if any(c != n for c in fair.counts):
        return {"error": f"expected {n} on each fd, got {fair.counts}"}
    snap = fair.snapshot or fair.counts
    return {"mib_s": 4 * n / MIB / secs, "share": 100.0 * min(snap) / max(sum(snap), 1),
            "secs": secs}


async def run_true():
    proc = await asyncio.create_subprocess_exec(
        "/bin/true", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    await proc.communicate()
    return proc.returncode == 0


async def spawn_seq(n):
    start = time.perf_counter()
    ended = 0
    for _ in range(n):
        ended += await run_true()
    secs = time.perf_counter() - start
    if ended != n:
        return {"error": f"{ended} of {n} ended"}
    return {"per_s": n / secs, "secs": secs}


async def spawn_conc(n):
    start = time.perf_counter()
    ended = sum(await asyncio.gather(*(run_true() for _ in range(n))))
    secs = time.perf_counter() - start
    if ended != n:
        return {"error": f"{ended} of {n} ended"}
    return {"per_s": n / secs, "secs": secs}


async def roundtrip(n):
    proc = await asyncio.create_subprocess_exec(
        "cat", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )
    lat = []
    for _ in range(n):
        t = time.perf_counter_ns()
        proc.stdin.write(LINE)
        await proc.stdin.drain()
        await proc.stdout.readexactly(len(LINE))
        lat.append(time.perf_counter_ns() - t)
    proc.stdin.close()
    await proc.wait()
    lat = sorted(x / 1000.0 for x in lat)
    pos = 0.99 * (len(lat) - 1)
    lo, hi = int(pos), min(int(pos) + 1, len(lat) - 1)
    p99 = lat[lo] + (lat[hi] - lat[lo]) * (pos - lo)
    return {"mean_us": sum(lat) / len(lat), "p99_us": p99}


def main():
    workload, n = sys.argv[1], int(sys.argv[2])
    work = {
        "flood1": lambda: flood1(n),
        "flood4": lambda: flood4(n, sys.argv[3]),
        "spawn-seq": lambda: spawn_seq(n),
        "spawn-conc": lambda: spawn_conc(n),
        "roundtrip": lambda: roundtrip(n),
    }.get(workload)
    result = asyncio.run(work()) if work else {"error": f"no asyncio peer for {workload}"}
    print(json.dumps(result))
    sys.exit(1 if "error" in result else 0)


if __name__ == "__main__":
    main()
