"""Twisted's reactor.spawnProcess on the benchmark workloads (one run per invocation).

Usage: peer.py WORKLOAD N [FLOOD4_SCRIPT]
Prints one JSON object of metrics on stdout, the same shape as the Rust workers:
  flood1      {"mib_s"}                 child writes N bytes to fd 1
  flood4      {"mib_s", "share"}        fds 1-4 flood N bytes each (share: slowest fd's
                                        percent of the bytes received by the first EOF)
  spawn-seq   {"per_s"}                 N sequential /bin/true to processEnded
  spawn-conc  {"per_s"}                 N /bin/true at once
  roundtrip   {"mean_us", "p99_us"}     a 16-byte line through cat, N times
Timing starts just before the first spawnProcess (interpreter start-up is excluded).
"""

import json
import os
import shutil
import sys
import time

from twisted.internet import protocol, reactor

MIB = 1024.0 * 1024.0
LINE = b"0123456789abcde\n"
ENV = dict(os.environ)
RESULT = {}


def which(name):
    return shutil.which(name) or name


def finish(metrics=None, error=None):
    RESULT.update(metrics or {})
    if error:
        RESULT["error"] = error
    if reactor.running:
        reactor.stop()


def status_ok(reason):
    return getattr(reason.value, "exitCode", None) == 0


class Flood1(protocol.ProcessProtocol):
    def __init__(self, n):
        self.n, self.got = n, 0

    def childDataReceived(self, fd, data):
        self.got += len(data)

    def processEnded(self, reason):
        secs = time.perf_counter() - START[0]
        if self.got != self.n:
            return finish(error=f"expected {self.n} bytes, received {self.got}")
        finish({"mib_s": self.n / MIB / secs, "secs": secs})


class Flood4(protocol.ProcessProtocol):
    def __init__(self, n):
        self.n, self.counts, self.snapshot = n, [0, 0, 0, 0], None

    def childDataReceived(self, fd, data):
        self.counts[fd - 1] += len(data)

    def childConnectionLost(self, fd):
        if self.snapshot is None and 1 <= fd <= 4:
            self.snapshot = list(self.counts)

    def processEnded(self, reason):
        secs = time.perf_counter() - START[0]
        if any(c != self.n for c in self.counts):
            return finish(error=f"expected {self.n} on each fd, got {self.counts}")
        snap = self.snapshot or self.counts
        share = 100.0 * min(snap) / max(sum(snap), 1)
        finish({"mib_s": 4 * self.n / MIB / secs, "share": share, "secs": secs})


class Sequential(protocol.ProcessProtocol):
    def __init__(self, state):
        self.state = state

    def processEnded(self, reason):
        state = self.state
        state["ended"] += int(status_ok(reason))
        state["left"] -= 1
        if state["left"] > 0:
            spawn_true(Sequential(state))
        else:
            secs = time.perf_counter() - START[0]
            if state["ended"] != state["n"]:
                return finish(error=f"{state['ended']} of {state['n']} ended")
            finish({"per_s": state["n"] / secs, "secs": secs})


class Concurrent(protocol.ProcessProtocol):
    def __init__(self, state):
        self.state = state

    def processEnded(self, reason):
        state = self.state
        state["ended"] += int(status_ok(reason))
        state["left"] -= 1
        if state["left"] == 0:
            secs = time.perf_counter() - START[0]
            if state["ended"] != state["n"]:
                return finish(error=f"{state['ended']} of {state['n']} ended")
            finish({"per_s": state["n"] / secs, "secs": secs})


class RoundTrip(protocol.ProcessProtocol):
    def __init__(self, n):
        self.n, self.got, self.lat, self.t = n, 0, [], 0

    def send(self):
        self.got = 0
        self.t = time.perf_counter_ns()
        self.transport.write(LINE)

    def connectionMade(self):
        self.send()

    def outReceived(self, data):
        self.got += len(data)
        if self.got < len(LINE):
            return
        self.lat.append(time.perf_counter_ns() - self.t)
        if len(self.lat) < self.n:
            self.send()
        else:
            self.transport.closeStdin()

    def processEnded(self, reason):
        if len(self.lat) != self.n:
            return finish(error=f"{len(self.lat)} of {self.n} round trips")
        lat = sorted(x / 1000.0 for x in self.lat)
        p99 = percentile(lat, 0.99)
        finish({"mean_us": sum(lat) / len(lat), "p99_us": p99})


def percentile(sorted_values, q):
    pos = q * (len(sorted_values) - 1)
    lo, hi = int(pos), min(int(pos) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def spawn_true(proto):
    reactor.spawnProcess(proto, "/bin/true", ["/bin/true"], env=ENV)


START = [0.0]


def main():
    workload, n = sys.argv[1], int(sys.argv[2])

    def go():
        START[0] = time.perf_counter()
        if workload == "flood1":
            head = which("head")
            reactor.spawnProcess(
                Flood1(n), head, [head, "-c", str(n), "/dev/zero"], env=ENV,
                childFDs={1: "r", 2: 2},
            )
        elif workload == "flood4":
            script = sys.argv[3]
            sh = which("sh")
            reactor.spawnProcess(
                Flood4(n), sh, [sh, "-c", script, "sh", str(n)], env=ENV,
                childFDs={1: "r", 2: "r", 3: "r", 4: "r"},
            )
        elif workload == "spawn-seq":
            spawn_true(Sequential({"n": n, "left": n, "ended": 0}))
        elif workload == "spawn-conc":
            state = {"n": n, "left": n, "ended": 0}
            for _ in range(n):
                spawn_true(Concurrent(state))
        elif workload == "roundtrip":
            cat = which("cat")
            reactor.spawnProcess(RoundTrip(n), cat, [cat], env=ENV)
        else:
            finish(error=f"no Twisted peer for {workload}")

    reactor.callWhenRunning(go)
    reactor.run()
    print(json.dumps(RESULT))
    sys.exit(1 if "error" in RESULT else 0)


if __name__ == "__main__":
    main()
