/* SPDX-License-Identifier: MIT */
/*
 * models.c - the bottleneck rules' defaults and the model table: context
 * windows of the models agentprof knows, and more from --models FILE.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analysis_internal.h"
#include "name.h"

void ap_rules_default(struct ap_rules *r)
{
	r->llm_self_pct = 80;
	r->tool_pct = 30;
	r->llm_chain = 2;
	r->slow_tool_ms = 500;
	r->context_pct = 50;
	r->error_pct = 10;
}

static void set_model(struct ap_model *m, const char *name, uint64_t window)
{
	uint32_t len = ap_name_len(name);

	memcpy(m->name, name, len);
	m->name[len] = '\0';
	m->id = ap_name_hash(name, len);
	m->window = window;
}

/* The ranges --rule accepts, and a log's settings must keep. */
int ap_rules_check(const struct ap_rules *r)
{
	if (!(r->llm_self_pct >= 0 && r->llm_self_pct <= 100) || !(r->tool_pct >= 0 && r->tool_pct <= 100) ||
	    !(r->context_pct >= 0 && r->context_pct <= 100) || !(r->error_pct >= 0 && r->error_pct <= 100) ||
	    !(r->slow_tool_ms >= 0 && r->slow_tool_ms <= AP_RULE_SLOW_MS_MAX) ||
	    r->llm_chain < 1 || r->llm_chain > AP_RULE_CHAIN_MAX)
		return -EINVAL;
	return 0;
}

/* A value to the nearest millionth: a percentage to 1e-6 %, ms to 1 ns. */
static double micro(double v)
{
	return (double)llround(v * 1e6) / 1e6;
}

void ap_rules_round(struct ap_rules *r)
{
	r->llm_self_pct = micro(r->llm_self_pct);
	r->tool_pct = micro(r->tool_pct);
	r->context_pct = micro(r->context_pct);
	r->error_pct = micro(r->error_pct);
	r->slow_tool_ms = micro(r->slow_tool_ms);
}

uint32_t ap_models_default(struct ap_model *out, uint32_t max)
{
	static const struct { const char *name; uint64_t window; } def[] = {
		{ "gpt-4o", 128000 },
		{ "gpt-4o-mini", 128000 },
		{ "claude-sonnet-4-20250514", 200000 },
		{ "claude-haiku-3-5", 200000 },
	};
	uint32_t n = 0;

	for (; n < sizeof(def) / sizeof(def[0]) && n < max; n++)
		set_model(&out[n], def[n].name, def[n].window);
	return n;
}

int ap_models_load(const char *path, struct ap_model *out, uint32_t *n, uint32_t max, int *line)
{
	char buf[512], name[256];
	unsigned long long window;
	FILE *f = fopen(path, "r");
	int added = 0;

	*line = 0;
	if (!f)
		return -errno;
	while (fgets(buf, sizeof(buf), f)) {
		char *p = buf;
		uint32_t i;

		(*line)++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\n' || *p == '\0')
			continue;
		if (sscanf(p, "%255s %llu", name, &window) != 2 || window == 0 || window > (1ull << 40)) {
			fclose(f);
			return -EINVAL;
		}
		for (i = 0; i < *n; i++)
			if (strcmp(out[i].name, name) == 0)
				break;
		if (i == *n) {
			if (*n >= max) {
				fclose(f);
				return -ENOSPC;
			}
			(*n)++;
			added++;
		}
		set_model(&out[i], name, window);
	}
	fclose(f);
	return added;
}

uint64_t ap_model_window(const struct ap_analysis *a, uint64_t model)
{
	for (uint32_t i = 0; i < a->nmodels; i++)
		if (a->models[i].id == model)
			return a->models[i].window;
	return 0;
}


void ap_settings_default(struct ap_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->max_spans = AP_DEFAULT_MAX_SPANS;
	ap_rules_default(&s->rules);
	ap_keep_default(&s->keep);
	s->nmodels = ap_models_default(s->models, AP_MODELS_MAX);
}
