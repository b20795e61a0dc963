/* SPDX-License-Identifier: MIT */
/*
 * otlp_http.c - the OTLP/HTTP sender (otlp_http.h).
 *
 * One thread, one libcurl easy handle reused for every request (keep-alive
 * to the collector). The queue is a singly linked list of malloc'd bodies;
 * its byte count includes the batch being sent, so the bound holds for
 * everything agentprof holds for the network. The workload we assume: a
 * batch every second or every 512 spans, a collector that answers in
 * milliseconds, and now and then one that is down for minutes, during which
 * the queue fills and whole batches are dropped, counted.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gz.h"
#include "otlp_http.h"

struct ap_otlp_item {
	struct ap_otlp_item *next;
	void *batch;
	size_t len;			/* bytes the batch holds, as the queue counts them */
	uint64_t nspans;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- configuration ---- */

static const char *env2(const char *traces, const char *all)
{
	const char *v = getenv(traces);

	return v && *v ? v : getenv(all);
}

/* scheme://[user:pass@]host[:port][/path][?query]: the URL to POST and the
 * one to show. mode 0: /v1/traces appended when the URL has no path (--otlp);
 * 1: always (OTEL_EXPORTER_OTLP_ENDPOINT, a base URL); 2: never
 * (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, used as it is). */
enum { PATH_IF_NONE, PATH_ALWAYS, PATH_NEVER };
static int endpoint(struct ap_otlp_cfg *c, const char *u, int mode)
{
	const char *rest = strstr(u, "://"), *host, *at, *slash;
	size_t n;

	if (!rest || (strncasecmp(u, "http://", 7) && strncasecmp(u, "https://", 8)))
		return -EINVAL;
	host = rest + 3;
	slash = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(slash - host));
	if (slash == host || (at && at + 1 == slash))
		return -EINVAL;
	if (mode == PATH_ALWAYS) {
		n = strlen(u);
		while (n > 0 && u[n - 1] == '/')
			n--;
		if ((size_t)snprintf(c->url, sizeof(c->url), "%.*s/v1/traces", (int)n, u) >= sizeof(c->url))
			return -EINVAL;
	} else if (mode == PATH_IF_NONE && (*slash != '/' || slash[1] == 0 || slash[1] == '?' || slash[1] == '#')) {
		if ((size_t)snprintf(c->url, sizeof(c->url), "%.*s/v1/traces%s", (int)(slash - u), u,
				     *slash == '/' ? slash + 1 : slash) >= sizeof(c->url))
			return -EINVAL;
	} else if ((size_t)snprintf(c->url, sizeof(c->url), "%s", u) >= sizeof(c->url)) {
		return -EINVAL;
	}
	/* Shown: scheme and host without user:password@, the path without a query. */
	rest = strstr(c->url, "://") + 3;
	slash = rest + strcspn(rest, "/?#");
	at = memchr(rest, '@', (size_t)(slash - rest));
	snprintf(c->shown, sizeof(c->shown), "%.*s%.*s", (int)(rest - c->url), c->url,
		 (int)strcspn(at ? at + 1 : rest, "?#"), at ? at + 1 : rest);
	return 0;
}

int ap_otlp_cfg_load(struct ap_otlp_cfg *c, const char *url, const char **why)
{
	const char *v;
	int ret;

	memset(c, 0, sizeof(*c));
	c->timeout_ms = 10000;
	c->queue_bytes = 64ull << 20;
	c->backoff_initial_ms = AP_OTLP_BACKOFF_INITIAL_MS;
	c->backoff_max_ms = AP_OTLP_BACKOFF_MAX_MS;
	c->backoff_elapsed_ms = AP_OTLP_BACKOFF_ELAPSED_MS;
	v = getenv("OTEL_SDK_DISABLED");
	if (v && !strcasecmp(v, "true")) {
		*why = "OTEL_SDK_DISABLED=true";
		return 0;
	}
	if (url) {
		ret = endpoint(c, url, PATH_IF_NONE);
		*why = "--otlp takes an http:// or https:// URL";
	} else if ((v = getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) && *v) {
		ret = endpoint(c, v, PATH_NEVER);
		*why = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is not an http:// or https:// URL";
	} else if ((v = getenv("OTEL_EXPORTER_OTLP_ENDPOINT")) && *v) {
		ret = endpoint(c, v, PATH_ALWAYS);
		*why = "OTEL_EXPORTER_OTLP_ENDPOINT is not an http:// or https:// URL";
	} else {
		*why = "no endpoint";
		return 0;
	}
	if (ret)
		return -EINVAL;
	v = env2("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL");
	if (v && *v && strcmp(v, "http/protobuf")) {
		if (strcmp(v, "http/json")) {
			*why = "OTEL_EXPORTER_OTLP_PROTOCOL: agentprof sends http/protobuf or http/json (not grpc)";
			return -EINVAL;
		}
		c->json = 1;
	}
	v = env2("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION");
	if (v && *v && strcmp(v, "none")) {
		if (strcmp(v, "gzip")) {
			*why = "OTEL_EXPORTER_OTLP_COMPRESSION takes gzip or none";
			return -EINVAL;
		}
		c->gzip = 1;
	}
	v = env2("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT");
	if (v && *v) {
		char *end;
		unsigned long ms = strtoul(v, &end, 10);

		if (*end || end == v || ms == 0 || ms > 3600000) {
			*why = "OTEL_EXPORTER_OTLP_TIMEOUT takes milliseconds from 1 to 3600000";
			return -EINVAL;
		}
		c->timeout_ms = (uint32_t)ms;
	}
	v = env2("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS");
	if (v && *v && !(c->headers = strdup(v))) {
		*why = "out of memory";
		return -ENOMEM;
	}
	*why = NULL;
	return 1;
}

void ap_otlp_cfg_free(struct ap_otlp_cfg *c)
{
	free(c->headers);
	c->headers = NULL;
}

static int unhex(int ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 :
	       ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

/* "k=v,k=v" (values percent-encoded, the OTel rule) as curl headers "k: v".
 * A malformed pair is skipped. */
static struct curl_slist *header_list(const char *h, struct curl_slist *l)
{
	char *dup = h ? strdup(h) : NULL, *save = NULL;

	if (!dup)
		return l;
	for (char *p = strtok_r(dup, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(p, '='), *o, *line;
		size_t n;

		if (!eq)
			continue;
		*eq = 0;
		while (*p == ' ')
			p++;
		for (n = strlen(p); n && p[n - 1] == ' '; n--)
			p[n - 1] = 0;
		if (!*p || strpbrk(p, ":\r\n"))
			continue;
		o = eq + 1;
		while (*o == ' ')
			o++;
		line = malloc(strlen(p) + strlen(o) + 3);
		if (!line)
			continue;
		{
			char *w = line + sprintf(line, "%s: ", p);
			int bad = 0;

			for (const char *s = o; *s; s++) {
				if (*s == '%' && unhex((unsigned char)s[1]) >= 0 && unhex((unsigned char)s[2]) >= 0) {
					*w++ = (char)(unhex((unsigned char)s[1]) * 16 + unhex((unsigned char)s[2]));
					s += 2;
				} else {
					*w++ = *s;
				}
				if (w[-1] == '\r' || w[-1] == '\n' || w[-1] == 0)
					bad = 1;
			}
			while (w > line && w[-1] == ' ')
				w--;
			*w = 0;
			if (!bad) {
				struct curl_slist *nl = curl_slist_append(l, line);

				if (nl)
					l = nl;
			}
		}
		memset(line, 0, strlen(line));
		free(line);
	}
	memset(dup, 0, strlen(h));
	free(dup);
	return l;
}

/* ---- the response ---- */

struct resp {
	char body[4096];
	size_t len;
	long retry_after_s;		/* -1: none */
};

static size_t on_body(char *p, size_t sz, size_t n, void *ctx)
{
	struct resp *r = ctx;
	size_t k = sz * n, room = sizeof(r->body) - 1 - r->len;

	memcpy(r->body + r->len, p, k < room ? k : room);
	r->len += k < room ? k : room;
	r->body[r->len] = 0;
	return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ctx)
{
	struct resp *r = ctx;
	size_t k = sz * n;

	if (k > 12 && !strncasecmp(p, "Retry-After:", 12)) {
		char b[32];
		size_t m = k - 12 < sizeof(b) - 1 ? k - 12 : sizeof(b) - 1;
		char *end;
		long s;

		memcpy(b, p + 12, m);
		b[m] = 0;
		s = strtol(b, &end, 10);
		while (*end == ' ' || *end == '\r' || *end == '\n')
			end++;
		/* delay-seconds only; an HTTP date is taken as no hint (backoff) */
		if (end != b && *end == 0 && s >= 0)
			r->retry_after_s = s > AP_OTLP_RETRY_AFTER_MAX_S ? AP_OTLP_RETRY_AFTER_MAX_S : s;
	}
	return k;
}

/* A varint at *p (bounded by e); 0 when malformed. */
static int varint(const uint8_t **p, const uint8_t *e, uint64_t *v)
{
	*v = 0;
	for (int s = 0; s < 64 && *p < e; s += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80))
			return 1;
	}
	return 0;
}

/* ExportTraceServiceResponse { 1: partial_success { 1: rejected_spans int64,
 * 2: error_message } }: the rejected spans, 0 when none or unreadable. */
static uint64_t rejected_pb(const uint8_t *p, size_t len)
{
	const uint8_t *e = p + len;
	uint64_t key, v;

	while (p < e && varint(&p, e, &key)) {
		if ((key & 7) == 2) {
			if (!varint(&p, e, &v) || v > (uint64_t)(e - p))
				return 0;
			if (key >> 3 == 1) {
				const uint8_t *q = p, *qe = p + v;

				while (q < qe && varint(&q, qe, &key)) {
					if (key == (1 << 3 | 0))
						return varint(&q, qe, &v) ? v : 0;
					if ((key & 7) == 2) {
						if (!varint(&q, qe, &v) || v > (uint64_t)(qe - q))
							return 0;
						q += v;
					} else if ((key & 7) == 0) {
						if (!varint(&q, qe, &v))
							return 0;
					} else {
						return 0;
					}
				}
				return 0;
			}
			p += v;
		} else if ((key & 7) == 0) {
			if (!varint(&p, e, &v))
				return 0;
		} else {
			return 0;
		}
	}
	return 0;
}

/* {"partialSuccess":{"rejectedSpans":"N" or N, ...}}, 0 when none. */
static uint64_t rejected_json(const char *s)
{
	const char *k = strstr(s, "\"rejectedSpans\"");

	if (!k)
		return 0;
	k += 15;
	while (*k == ' ' || *k == ':' || *k == '"')
		k++;
	return isdigit((unsigned char)*k) ? strtoull(k, NULL, 10) : 0;
}

/* ---- the thread ---- */

static uint64_t rnd(struct ap_otlp *o)
{
	o->rng ^= o->rng << 13;
	o->rng ^= o->rng >> 7;
	o->rng ^= o->rng << 17;
	return o->rng;
}

/* Sleep until `until` or the stop deadline, whichever is first; 1 when the
 * deadline passed. Holds mu. */
static int wait_until(struct ap_otlp *o, uint64_t until)
{
	for (;;) {
		uint64_t t = now_ns(), lim = until;
		struct timespec ts;

		if (o->stopping && o->deadline_ns <= t)
			return 1;
		if (t >= until)
			return 0;
		if (o->stopping && o->deadline_ns < lim)
			lim = o->deadline_ns;
		clock_gettime(CLOCK_REALTIME, &ts);
		{
			uint64_t d = lim - t, ns = (uint64_t)ts.tv_nsec + d % 1000000000u;

			ts.tv_sec += (time_t)(d / 1000000000u + ns / 1000000000u);
			ts.tv_nsec = (long)(ns % 1000000000u);
		}
		pthread_cond_timedwait(&o->cv, &o->mu, &ts);
	}
}

static void fail_note(struct ap_otlp *o, int status, const char *what)
{
	o->st.last_status = status;
	if (status)
		snprintf(o->st.last_error, sizeof(o->st.last_error), "HTTP %d from the collector%s%s", status,
			 what && *what ? ": " : "", what ? what : "");
	else
		snprintf(o->st.last_error, sizeof(o->st.last_error), "%s", what);
}

/* Send one batch, with the spec's retries. Called without mu. */
static void send_batch(struct ap_otlp *o, CURL *h, struct curl_slist *hdrs, struct ap_otlp_item *it)
{
	uint8_t *raw = NULL, *gz = NULL;
	const uint8_t *body;
	size_t len = 0, rawlen = 0;
	uint64_t first = now_ns(), delay_ms = o->cfg.backoff_initial_ms;
	char err[CURL_ERROR_SIZE];
	int ret = o->encode(o->ctx, it->batch, &raw, &rawlen);

	pthread_mutex_lock(&o->mu);
	o->st.encode_ns += now_ns() - first;
	if (ret) {
		o->st.spans_failed += it->nspans;
		o->st.batches_failed++;
		fail_note(o, 0, "no memory to encode a batch");
		pthread_mutex_unlock(&o->mu);
		return;
	}
	pthread_mutex_unlock(&o->mu);
	body = raw;
	len = rawlen;
	if (o->cfg.gzip && ap_gzip(raw, rawlen, &gz, &len) == 0)
		body = gz;
	else
		len = rawlen;
	first = now_ns();
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	for (;;) {
		struct resp r = { .len = 0, .retry_after_s = -1 };
		uint64_t t = now_ns(), wait_ns;
		long status = 0, tmo = (long)o->cfg.timeout_ms;
		CURLcode cc;
		int retry;

		pthread_mutex_lock(&o->mu);
		if (o->stopping) {
			if (o->deadline_ns <= t) {
				o->st.spans_dropped_shutdown += it->nspans;
				pthread_mutex_unlock(&o->mu);
				break;
			}
			if ((uint64_t)tmo > (o->deadline_ns - t) / 1000000u + 1)
				tmo = (long)((o->deadline_ns - t) / 1000000u + 1);
		}
		pthread_mutex_unlock(&o->mu);
		r.body[0] = 0;
		err[0] = 0;
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, tmo);
		cc = curl_easy_perform(h);
		if (cc == CURLE_OK)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		pthread_mutex_lock(&o->mu);
		if (cc == CURLE_OK && status >= 200 && status < 300) {
			uint64_t rej = o->cfg.json ? rejected_json(r.body) : rejected_pb((const uint8_t *)r.body, r.len);

			if (rej > it->nspans)
				rej = it->nspans;
			o->st.spans_sent += it->nspans - rej;
			o->st.spans_rejected += rej;
			o->st.batches_sent++;
			o->st.bytes_sent += len;
			if (rej)
				fail_note(o, (int)status, "partial success: spans rejected");
			pthread_mutex_unlock(&o->mu);
			break;
		}
		retry = cc != CURLE_OK || status == 429 || status == 502 || status == 503 || status == 504;
		if (cc == CURLE_OPERATION_TIMEDOUT)
			o->st.timeouts++;
		if (cc != CURLE_OK)
			fail_note(o, 0, err[0] ? err : curl_easy_strerror(cc));
		else
			fail_note(o, (int)status, retry ? "retried" : "not retried");
		if (!retry) {
			o->st.spans_failed += it->nspans;
			o->st.batches_failed++;
			if (!o->said) {
				o->said = 1;
				fprintf(stderr, "agentprof: the OTLP collector at %s refused a batch of %" PRIu64
					" spans (HTTP %ld); such batches are counted in otlp.spans_failed and not "
					"retried\n", o->cfg.shown, it->nspans, status);
			}
			pthread_mutex_unlock(&o->mu);
			break;
		}
		/* Retry-After when the server gave one, else the backoff with
		 * jitter: a uniform draw in [delay/2, delay * 3/2). */
		if (r.retry_after_s >= 0) {
			wait_ns = (uint64_t)r.retry_after_s * 1000000000u;
		} else {
			wait_ns = (delay_ms / 2 + rnd(o) % (delay_ms ? delay_ms : 1)) * 1000000u;
			delay_ms = delay_ms * 2 > o->cfg.backoff_max_ms ? o->cfg.backoff_max_ms : delay_ms * 2;
		}
		if (now_ns() + wait_ns - first > (uint64_t)o->cfg.backoff_elapsed_ms * 1000000u) {
			o->st.spans_failed += it->nspans;
			o->st.batches_failed++;
			if (!o->said) {
				o->said = 1;
				fprintf(stderr, "agentprof: the OTLP collector at %s has not taken a batch for %u s "
					"(%s); it is counted in otlp.spans_failed, later batches go on trying\n",
					o->cfg.shown, o->cfg.backoff_elapsed_ms / 1000, o->st.last_error);
			}
			pthread_mutex_unlock(&o->mu);
			break;
		}
		o->st.retries++;
		if (wait_until(o, now_ns() + wait_ns)) {
			o->st.spans_dropped_shutdown += it->nspans;
			pthread_mutex_unlock(&o->mu);
			break;
		}
		pthread_mutex_unlock(&o->mu);
	}
	free(gz);
	free(raw);
}

static void *run(void *arg)
{
	struct ap_otlp *o = arg;
	struct curl_slist *hdrs = NULL;
	CURL *h = curl_easy_init();

	hdrs = curl_slist_append(hdrs, o->cfg.json ? "Content-Type: application/json" :
					       "Content-Type: application/x-protobuf");
	if (o->cfg.gzip)
		hdrs = curl_slist_append(hdrs, "Content-Encoding: gzip");
	hdrs = curl_slist_append(hdrs, "Expect:");	/* no 100-continue round trip */
	hdrs = header_list(o->cfg.headers, hdrs);
	if (h) {
		curl_easy_setopt(h, CURLOPT_URL, o->cfg.url);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)o->cfg.timeout_ms);
		curl_easy_setopt(h, CURLOPT_USERAGENT, "agentprof-otlp");
		curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	}
	pthread_mutex_lock(&o->mu);
	for (;;) {
		struct ap_otlp_item *it = o->head;

		if (!it) {
			if (o->stopping)
				break;
			pthread_cond_wait(&o->cv, &o->mu);
			continue;
		}
		if (o->stopping && now_ns() >= o->deadline_ns)
			break;
		o->head = it->next;
		if (!o->head)
			o->tail = NULL;
		pthread_mutex_unlock(&o->mu);
		if (h) {
			send_batch(o, h, hdrs, it);
		} else {
			pthread_mutex_lock(&o->mu);
			o->st.spans_failed += it->nspans;
			fail_note(o, 0, "libcurl could not start");
			pthread_mutex_unlock(&o->mu);
		}
		o->free_batch(o->ctx, it->batch);
		pthread_mutex_lock(&o->mu);
		o->st.spans_in_queue -= it->nspans;	/* counted in one place now */
		o->st.queue_bytes -= it->len;
		free(it);
	}
	/* Past the deadline: what is left is dropped, counted. */
	while (o->head) {
		struct ap_otlp_item *it = o->head;

		o->head = it->next;
		o->st.spans_in_queue -= it->nspans;
		o->st.spans_dropped_shutdown += it->nspans;
		o->st.queue_bytes -= it->len;
		o->free_batch(o->ctx, it->batch);
		free(it);
	}
	o->tail = NULL;
	pthread_mutex_unlock(&o->mu);
	if (h)
		curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	return NULL;
}

int ap_otlp_start(struct ap_otlp *o, struct ap_otlp_cfg *c, ap_otlp_encode_fn enc, ap_otlp_free_fn fr, void *ctx)
{
	memset(o, 0, sizeof(*o));
	o->cfg = *c;
	o->encode = enc;
	o->free_batch = fr;
	o->ctx = ctx;
	c->headers = NULL;
	o->rng = now_ns() | 1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		ap_otlp_cfg_free(&o->cfg);
		return -EIO;
	}
	pthread_mutex_init(&o->mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_cond_init(&o->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (pthread_create(&o->thread, NULL, run, o)) {
		ap_otlp_cfg_free(&o->cfg);
		return -ENOMEM;
	}
	o->started = 1;
	return 0;
}

int ap_otlp_submit(struct ap_otlp *o, void *batch, size_t len, uint64_t nspans)
{
	struct ap_otlp_item *it = NULL;
	int ret = 0;

	pthread_mutex_lock(&o->mu);
	o->st.spans_queued += nspans;
	if (o->stopping || o->st.queue_bytes + len > o->cfg.queue_bytes || !(it = malloc(sizeof(*it)))) {
		o->st.spans_dropped_queue_full += nspans;
		ret = -ENOSPC;
	} else {
		*it = (struct ap_otlp_item){ NULL, batch, len, nspans };
		if (o->tail)
			o->tail->next = it;
		else
			o->head = it;
		o->tail = it;
		o->st.queue_bytes += len;
		o->st.spans_in_queue += nspans;
		if (o->st.queue_bytes > o->st.queue_peak_bytes)
			o->st.queue_peak_bytes = o->st.queue_bytes;
		pthread_cond_signal(&o->cv);
	}
	pthread_mutex_unlock(&o->mu);
	if (ret)
		free(it);
	return ret;
}

void ap_otlp_stop(struct ap_otlp *o, uint64_t drain_ns)
{
	if (!o->started)
		return;
	pthread_mutex_lock(&o->mu);
	o->stopping = 1;
	o->deadline_ns = now_ns() + drain_ns;
	pthread_cond_broadcast(&o->cv);
	pthread_mutex_unlock(&o->mu);
	pthread_join(o->thread, NULL);
	o->started = 0;
	pthread_mutex_destroy(&o->mu);
	pthread_cond_destroy(&o->cv);
	ap_otlp_cfg_free(&o->cfg);
	curl_global_cleanup();
}

void ap_otlp_stats(struct ap_otlp *o, struct ap_otlp_stats *st)
{
	if (!o->started) {
		*st = o->st;
		return;
	}
	pthread_mutex_lock(&o->mu);
	*st = o->st;
	pthread_mutex_unlock(&o->mu);
}
