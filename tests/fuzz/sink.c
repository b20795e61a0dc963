/* SPDX-License-Identifier: MIT */
/* sink.c - a counting FILE and the output bounds of the fuzz harnesses (sink.h). */
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "sink.h"

static ssize_t count(void *c, const char *buf, size_t n)
{
	(void)buf;
	((struct sink *)c)->bytes += n;
	return (ssize_t)n;
}

FILE *sink_open(struct sink *s)
{
	static const cookie_io_functions_t io = { .write = count };

	s->bytes = 0;
	return fopencookie(s, "w", io);
}

void sink_check(const char *what, uint64_t got, uint64_t bound)
{
	if (got > bound) {
		fprintf(stderr, "fuzz: %s wrote %llu bytes, past its bound of %llu\n", what,
			(unsigned long long)got, (unsigned long long)bound);
		abort();
	}
}

void sink_render_run(const struct ap_run *r, const struct ap_settings *set)
{
	unsigned n;
	const struct ap_format *fmt = ap_formats(&n);
	struct sink s;
	FILE *f;

	/* Every format a report writes, as a user's command renders them. */
	for (unsigned i = 0; i < n; i++) {
		int json = strcmp(fmt[i].name, "json") == 0, text = strcmp(fmt[i].name, "text") == 0;

		if (!r->analysis && !json)
			continue;
		f = sink_open(&s);
		if (!f)
			continue;
		fmt[i].render(r, f);
		fclose(f);
		sink_check(fmt[i].file, s.bytes, json || text ? ap_report_bound(set, r->nprocs, r->lanes, json) :
			   ap_export_bound(set, r->nprocs, r->lanes));
	}
}
