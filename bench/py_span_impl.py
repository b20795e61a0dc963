# SPDX-License-Identifier: MIT
"""The usual pure-Python span, for users who compare: a @contextmanager
that builds a dataclass, keeps a parent stack, and appends the finished
span to a list under a lock (the lesson's profiler). bench/py_span.py
times it alone; bench/py_agentprof.py beside agentprof's module."""
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
finished: List[Span] = []
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
            finished.append(s)
