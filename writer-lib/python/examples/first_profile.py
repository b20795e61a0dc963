# SPDX-License-Identifier: MIT
"""The first profile: run the reference workflow a few times and let the
report say where the time goes.

    agentprof record -- python3 writer-lib/python/examples/first_profile.py [TRACES]

The report shows a trace of about 1,250 ms; llm:classify 36%, llm:synthesize
28%, tool:search_kb 16% of the time; classify and search_kb ran one after
another (650 ms) though both only need context_assembly: together they
would take 450 ms, a saving of 200 ms, 1.44x. The same figures as `make demo`.
"""
import sys
import time

import agentprof as ap
import reference

traces = int(sys.argv[1]) if len(sys.argv) > 1 else 3
t0 = time.perf_counter()
for _ in range(traces):
    reference.workflow()
dt = (time.perf_counter() - t0) / traces
print("%d traces, %.0f ms each (recording: %s)" % (traces, dt * 1000 / reference.SCALE, ap.enabled()))
