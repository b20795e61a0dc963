/* SPDX-License-Identifier: MIT */
/* sink.c - a counting FILE and the output bounds of the fuzz harnesses (sink.h). */
#include <stdlib.h>

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
	struct sink s;
	FILE *f;

	f = sink_open(&s);
	if (f) {
		ap_render_json(r, f);
		fclose(f);
		sink_check("report.json", s.bytes, ap_report_bound(set, r->nprocs, r->lanes, 1));
	}
	if (!r->analysis)
		return;
	f = sink_open(&s);
	if (f) {
		ap_render_text(r, f, 0);
		fclose(f);
		sink_check("report.txt", s.bytes, ap_report_bound(set, r->nprocs, r->lanes, 0));
	}
}
