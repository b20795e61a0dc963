# SPDX-License-Identifier: MIT
"""The usual pure-Python span (py_span_impl.py), nested two deep. Prints
"python_span_ns median min max" (ns per span) over ROUNDS rounds."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from py_span_impl import finished as _finished, span  # noqa: E402


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
