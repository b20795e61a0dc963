# SPDX-License-Identifier: MIT
"""Sequential against parallel with asyncio: the same workflow, once with
classify and search_kb awaited one after the other, once under
asyncio.gather. Spans nest by context, so the two concurrent calls are
both children of their workflow.

    agentprof record -- python3 writer-lib/python/examples/sequential_vs_parallel.py [TRACES]

Prints about 1,250 ms sequential and 1,050 ms parallel (the 200 ms of
search_kb now overlap classify); the report's concurrency section measures
the overlap under the parallel workflows.
"""
import asyncio
import sys
import time

import reference

traces = int(sys.argv[1]) if len(sys.argv) > 1 else 2


async def main():
    for parallel in (False, True):
        t0 = time.perf_counter()
        for _ in range(traces):
            await reference.aworkflow(parallel)
        dt = (time.perf_counter() - t0) / traces
        print("%-10s %6.0f ms per trace" % ("parallel" if parallel else "sequential", dt * 1000 / reference.SCALE))

asyncio.run(main())
