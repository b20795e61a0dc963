/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "json.h"
#include "text.h"

void ap_json_init(struct ap_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->first[0] = 1;
}

/* The report writers run on the reader's own thread and own their FILE:
 * the unlocked stdio calls skip a lock per value. */
static void put(struct ap_json *j, const char *s)
{
	if (!j->err && fputs_unlocked(s, j->f) == EOF)
		j->err = errno ? -errno : -EIO;
}

static void put_n(struct ap_json *j, const char *s, size_t n)
{
	if (!j->err && n && fwrite_unlocked(s, 1, n, j->f) != n)
		j->err = errno ? -errno : -EIO;
}

static void put_indent(struct ap_json *j)
{
	static const char sp[] = "                                                                ";
	size_t w = 2 * (size_t)j->depth;

	for (; w > sizeof(sp) - 1; w -= sizeof(sp) - 1)
		put_n(j, sp, sizeof(sp) - 1);
	put_n(j, sp, w);
}

/* Bytes from p on that need no escape: ASCII other than controls, quote
 * and backslash, and valid UTF-8 sequences. */
static size_t plain_run(const unsigned char *p)
{
	size_t n = 0, k;
	uint32_t cp;

	for (;;) {
		if (p[n] >= 0x20 && p[n] < 0x80 && p[n] != '"' && p[n] != '\\') {
			n++;
			continue;
		}
		if (p[n] < 0x80 || !(k = ap_utf8_seq(p + n, 4, &cp)))
			return n;	/* (a sequence never runs past the NUL: it is not a continuation byte) */
		n += k;
	}
}

static void put_str(struct ap_json *j, const char *s)
{
	char esc[8];

	put(j, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p && !j->err; p++) {
		size_t n = plain_run(p);

		if (n) {
			put_n(j, (const char *)p, n);	/* one write per run, not per byte */
			p += n - 1;
			continue;
		}
		switch (*p) {
		case '"':  put(j, "\\\""); break;
		case '\\': put(j, "\\\\"); break;
		case '\n': put(j, "\\n"); break;
		case '\r': put(j, "\\r"); break;
		case '\t': put(j, "\\t"); break;
		default:
			if (*p >= 0x80) {
				put(j, "\\ufffd");	/* not UTF-8: the replacement character */
				break;
			}
			snprintf(esc, sizeof(esc), "\\u%04x", *p);	/* the other control bytes */
			put(j, esc);
		}
	}
	put(j, "\"");
}

/* Comma, newline, indent and key before a value. */
static void prefix(struct ap_json *j, const char *key)
{
	if (j->depth > 0 && j->compact) {
		if (!j->first[j->depth])
			put(j, ",");
	} else if (j->depth > 0) {
		put(j, j->first[j->depth] ? "\n" : ",\n");
		put_indent(j);
	}
	j->first[j->depth] = 0;
	if (key) {
		put_str(j, key);
		put(j, j->compact ? ":" : ": ");
	}
}

static void open_(struct ap_json *j, const char *key, const char *c)
{
	prefix(j, key);
	put(j, c);
	if (j->depth + 1 < AP_JSON_DEPTH)
		j->depth++;
	else
		j->err = j->err ? j->err : -E2BIG;
	j->first[j->depth] = 1;
}

static void close_(struct ap_json *j, const char *c)
{
	int empty = j->first[j->depth];

	if (j->depth > 0)
		j->depth--;
	if (!empty && !j->compact) {
		put(j, "\n");
		put_indent(j);
	}
	put(j, c);
	if (j->depth == 0)
		put(j, "\n");
}

void ap_json_obj(struct ap_json *j, const char *key) { open_(j, key, "{"); }
void ap_json_arr(struct ap_json *j, const char *key) { open_(j, key, "["); }
void ap_json_end_obj(struct ap_json *j) { close_(j, "}"); }
void ap_json_end_arr(struct ap_json *j) { close_(j, "]"); }

void ap_json_u64(struct ap_json *j, const char *key, uint64_t v)
{
	char b[24], *p = b + sizeof(b);

	prefix(j, key);
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put_n(j, p, (size_t)(b + sizeof(b) - p));
}

void ap_json_i64(struct ap_json *j, const char *key, int64_t v)
{
	char b[24];

	prefix(j, key);
	snprintf(b, sizeof(b), "%" PRId64, v);
	put(j, b);
}

void ap_json_num(struct ap_json *j, const char *key, double v, int decimals)
{
	char b[64];

	prefix(j, key);
	if (!isfinite(v)) {
		put(j, "null");
		return;
	}
	snprintf(b, sizeof(b), "%.*f", decimals, v);
	put(j, b);
}

void ap_json_str(struct ap_json *j, const char *key, const char *s)
{
	prefix(j, key);
	put_str(j, s ? s : "");
}

void ap_json_bool(struct ap_json *j, const char *key, int v)
{
	prefix(j, key);
	put(j, v ? "true" : "false");
}

void ap_json_null(struct ap_json *j, const char *key)
{
	prefix(j, key);
	put(j, "null");
}

void ap_json_raw(struct ap_json *j, const char *key, const char *text)
{
	prefix(j, key);
	put(j, text);
}
