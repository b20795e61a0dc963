# SPDX-License-Identifier: MIT
"""agentprof's Python module beside the usual pure-Python span, in one
process (bench/run.sh runs it under `agentprof record`, so a reader is
draining the segment while the spans are recorded).

Rows, each the median of ROUNDS rounds with min and max, in ns:
  on        ns per span: `with ap.span(...)` empty body, nested two deep
  off       the same with profiling off in this process (ap.detach(): every
            span() returns the shared inert span)
  deco      ns a @ap.span decorator adds to a call (decorated minus plain)
  pure      the pure-Python span of bench/py_span.py (@contextmanager,
            dataclass, a parent stack, a lock), nested two deep
  ratio     pure / on (median over rounds of the per-round ratio)
Rounds interleave the four measurements so that a machine whose load
changes during the run affects them alike.

Usage: py_agentprof.py [PAIRS] [ROUNDS]; prints "key median min max" lines.
"""
import os
import sys
import time

import agentprof as ap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import py_span_impl as pure  # noqa: E402


def on_round(pairs):
    span = ap.span
    t0 = time.perf_counter_ns()
    for _ in range(pairs):
        with span("outer", "internal"):
            with span("inner", "tool"):
                pass
    return (time.perf_counter_ns() - t0) / (2 * pairs)


def pure_round(pairs):
    span = pure.span
    t0 = time.perf_counter_ns()
    for _ in range(pairs):
        with span("outer"):
            with span("inner"):
                pass
    dt = time.perf_counter_ns() - t0
    pure.finished.clear()
    return dt / (2 * pairs)


def plain(x):
    return x


@ap.span("deco", "tool")
def decorated(x):
    return x


def call_round(fn, calls):
    t0 = time.perf_counter_ns()
    for i in range(calls):
        fn(i)
    return (time.perf_counter_ns() - t0) / calls


def stats(v):
    v = sorted(v)
    return v[len(v) // 2], v[0], v[-1]


def main():
    pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    if not ap.enabled():
        print("py_agentprof: not recording (run it under agentprof record)", file=sys.stderr)
        return 1
    on_round(pairs // 10)
    pure_round(pairs // 10)
    on, pure_v, ratio, deco = [], [], [], []
    for _ in range(rounds):
        a = on_round(pairs)
        b = pure_round(pairs)
        on.append(a)
        pure_v.append(b)
        ratio.append(b / a)
        deco.append(call_round(decorated, pairs) - call_round(plain, pairs))
    ap.detach()
    off = []
    on_round(pairs // 10)
    for _ in range(rounds):
        off.append(on_round(pairs))
    for key, v in (("py_on_ns", on), ("py_off_ns", off), ("py_deco_ns", deco),
                   ("py_pure_ns", pure_v), ("py_ratio", ratio)):
        print("%s %.1f %.1f %.1f" % ((key,) + stats(v)))
    return 0


sys.exit(main())
