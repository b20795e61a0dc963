/* SPDX-License-Identifier: MIT */
/*
 * otlp_http.h - the OTLP/HTTP sender: encoded batches of spans out to an
 * OpenTelemetry Collector, on a thread of its own, so that the drain never
 * waits for the network.
 *
 * The drain thread hands over whole batches (ap_otlp_submit): an O(1)
 * append under a mutex the sender thread holds only to pop a batch or to
 * count, never while it talks to the network. A batch is opaque here: the
 * sender thread turns it into a request body with the client's encode
 * callback (so encoding costs the drain nothing), gzips it when asked and
 * POSTs it with libcurl (HTTP and HTTPS). The queue is bounded in bytes
 * (what the client says each batch holds, until it is sent): a batch that
 * does not fit is dropped whole and counted, never waited for. Delivery
 * follows the OTLP specification's rules:
 * retry on 429, 502, 503, 504 and on connection errors and timeouts, after
 * the server's Retry-After when it gives one, else after an exponential
 * backoff with jitter (AP_OTLP_BACKOFF_*); a 2xx with partial_success
 * counts its rejected_spans as rejected, not retried; any other status is
 * an error for that batch, counted as failed and said once on stderr.
 *
 * Every span handed over is in exactly one place (the conservation rule,
 * checked by the tests at exit):
 *   queued = sent + dropped_queue_full + dropped_shutdown + rejected + failed + in_queue
 * At stop (ap_otlp_stop) the queue is sent for at most drain_ns; what is
 * left then, the batch in flight included, is dropped_shutdown and
 * in_queue is 0.
 *
 * Headers (OTEL_EXPORTER_OTLP_HEADERS) hold credentials: they are given to
 * libcurl and never printed or written anywhere; the endpoint is shown
 * without its user:password@ part and without its query.
 */
#ifndef AP_OTLP_HTTP_H
#define AP_OTLP_HTTP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define AP_OTLP_BACKOFF_INITIAL_MS	500u	/* first retry, before jitter */
#define AP_OTLP_BACKOFF_MAX_MS		5000u	/* longest wait between tries */
#define AP_OTLP_BACKOFF_ELAPSED_MS	30000u	/* a batch is failed after trying this long */
#define AP_OTLP_RETRY_AFTER_MAX_S	60u	/* a longer Retry-After is cut to this */

struct ap_otlp_cfg {
	char url[1024];			/* where to POST */
	char shown[1024];		/* the same without credentials, for reports */
	int json;			/* http/json, else http/protobuf */
	int gzip;			/* Content-Encoding: gzip */
	uint32_t timeout_ms;		/* per request (OTEL_EXPORTER_OTLP_TIMEOUT, 10000) */
	char *headers;			/* "k=v,k=v" (never printed), malloc'd; NULL: none */
	uint64_t queue_bytes;		/* --otlp-queue-mib */
	uint32_t backoff_initial_ms, backoff_max_ms, backoff_elapsed_ms;
};

/*
 * The configuration from --otlp URL (NULL: none) and the environment
 * (OTEL_EXPORTER_OTLP_[TRACES_]{ENDPOINT,HEADERS,PROTOCOL,COMPRESSION,TIMEOUT},
 * OTEL_SDK_DISABLED). Returns 1 when OTLP is on, 0 when off (no endpoint,
 * or OTEL_SDK_DISABLED=true: *why says which), -EINVAL with *why naming
 * the bad value.
 */
int ap_otlp_cfg_load(struct ap_otlp_cfg *c, const char *url, const char **why);
void ap_otlp_cfg_free(struct ap_otlp_cfg *c);

struct ap_otlp_stats {
	uint64_t spans_queued, spans_sent, batches_sent, retries, timeouts;
	uint64_t spans_dropped_queue_full, spans_dropped_shutdown, spans_rejected, spans_failed;
	uint64_t spans_in_queue, batches_failed, queue_bytes, queue_peak_bytes;
	uint64_t bytes_sent;		/* request bodies as sent (after gzip) */
	uint64_t encode_ns;		/* the sender thread's time encoding batches */
	int last_status;		/* HTTP status of the last error, 0: a connection error */
	char last_error[160];		/* "" when none */
};

struct ap_otlp_item;

/* The client's batches: encode one into a malloc'd request body (on the
 * sender's thread; 0 or -errno), and free one (either thread). */
typedef int (*ap_otlp_encode_fn)(void *ctx, void *batch, uint8_t **body, size_t *len);
typedef void (*ap_otlp_free_fn)(void *ctx, void *batch);

struct ap_otlp {
	ap_otlp_encode_fn encode;
	ap_otlp_free_fn free_batch;
	void *ctx;
	struct ap_otlp_cfg cfg;
	pthread_t thread;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ap_otlp_item *head, *tail;
	int stopping;
	uint64_t deadline_ns;		/* CLOCK_MONOTONIC: give up sending after it */
	struct ap_otlp_stats st;	/* under mu */
	int said;			/* the first failure is said on stderr, once */
	uint64_t rng;
};

/* Start the sender thread; takes c (its headers). 0, -ENOMEM or -EIO (libcurl). */
int ap_otlp_start(struct ap_otlp *o, struct ap_otlp_cfg *c, ap_otlp_encode_fn enc, ap_otlp_free_fn fr, void *ctx);
/* Hand over one batch of nspans spans holding `bytes` (the sender frees it
 * with the free callback). 0, or -ENOSPC when the queue was full: dropped
 * and counted, and the batch is still the caller's (to reuse: a drain
 * that outruns the collector allocates nothing). */
int ap_otlp_submit(struct ap_otlp *o, void *batch, size_t bytes, uint64_t nspans);
/* Send what is queued for at most drain_ns, then stop the thread; what is
 * left is counted as dropped_shutdown. */
void ap_otlp_stop(struct ap_otlp *o, uint64_t drain_ns);
void ap_otlp_stats(struct ap_otlp *o, struct ap_otlp_stats *st);

#endif /* AP_OTLP_HTTP_H */
