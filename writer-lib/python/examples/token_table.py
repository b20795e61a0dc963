# SPDX-License-Identifier: MIT
"""The token table: every LLM call records its model and tokens, before or
after its end; the report's Tokens section sums them per model, with the
share of each model's context window used.

    agentprof record -- python3 writer-lib/python/examples/token_table.py [TRACES]

Per trace: gpt-4o-mini 450 in / 30 out, gpt-4o 12,500 in / 800 out. This
prints the table it expects, for comparison with the report's.
"""
import sys

import agentprof as ap
import reference

traces = int(sys.argv[1]) if len(sys.argv) > 1 else 3
for _ in range(traces):
    reference.workflow()
# ap.llm(model) names the span llm:<model>; set_tokens(in, out) then uses that model
with ap.span("followup"):
    with ap.llm("gpt-4o-mini") as s:
        s.set_tokens(1200, 40)
expect = {"gpt-4o-mini": (450 * traces + 1200, 30 * traces + 40), "gpt-4o": (12500 * traces, 800 * traces)}
print("%-12s %8s %8s %8s" % ("model", "input", "output", "total"))
for m, (i, o) in expect.items():
    print("%-12s %8d %8d %8d" % (m, i, o, i + o))
