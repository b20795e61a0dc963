# SPDX-License-Identifier: MIT
"""A workflow with declared dependencies: depends_on() says which step
consumed which step's output, so the report can say which siblings that
ran one after another could have run together, and what that saves.

    agentprof record -- python3 writer-lib/python/examples/workflow_deps.py [TRACES]

llm:classify and tool:search_kb both depend only on context_assembly: the
report's Parallelism section finds them (650 ms in sequence, 450 ms
together, 1.44x); llm:synthesize depends on both, tool:format on it.
"""
import sys

import reference

traces = int(sys.argv[1]) if len(sys.argv) > 1 else 3
for _ in range(traces):
    reference.workflow()
print("declared: classify <- context_assembly, search_kb <- context_assembly, "
      "synthesize <- classify + search_kb, format <- synthesize")
