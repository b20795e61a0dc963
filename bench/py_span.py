# SPDX-License-Identifier: MIT
"""The usual pure-Python span, for users who compare: a @contextmanager
that builds a dataclass, keeps a parent stack, and appends the finished
span to a list under a lock; nested two deep. Prints
"python_span_ns median min max" (ns per span) over ROUNDS rounds."""
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import List, Optional


@dataclass
class Span:
    name: str
    start_ns: int
    parent: Optional["Span"] = None
    end_ns: int = 0


_lock = threading.Lock()
_finished: List[Span] = []
_stack: List[Span] = []


@contextmanager
def span(name):
    s = Span(name, time.perf_counter_ns(), _stack[-1] if _stack else None)
    _stack.append(s)
    try:
        yield s
    finally:
        s.end_ns = time.perf_counter_ns()
        _stack.pop()
        with _lock:
            _finished.append(s)


def one_round(pairs):
    t0 = time.perf_counter_ns()
    for _ in range(pairs):
        with span("outer"):
            with span("inner"):
                pass
    dt = time.perf_counter_ns() - t0
    _finished.clear()
    return dt / (2 * pairs)


def main():
    pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    one_round(pairs // 10)
    v = sorted(one_round(pairs) for _ in range(rounds))
    print("python_span_ns %.1f %.1f %.1f" % (v[len(v) // 2], v[0], v[-1]))


main()
