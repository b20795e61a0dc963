/* Links with -Iwriter-lib/include build/libagentprof.a -lpthread and nothing
 * else; run without AGENTPROF_SHM it must print exactly "link ok". */
#include <stdio.h>

#include <agentprof.h>

int main(void)
{
	uint64_t name = ap_name("link:example");
	uint64_t s = ap_begin(name, AP_CAT_TOOL);

	ap_set_tokens(s, ap_name("gpt-4o"), 1, 2);
	ap_end(s);
	{
		AP_SPAN("link:scoped", AP_CAT_INTERNAL);
	}
	printf("link %s\n", s == 0 && !ap_enabled() ? "ok" : "unexpected");
	return 0;
}
