/* SPDX-License-Identifier: MIT */
/*
 * json.h - a small streaming JSON writer for the reports.
 *
 * Keys are passed with each value inside objects and as NULL inside arrays.
 * The first write error is kept in `err` (-errno); later calls do nothing,
 * so a caller checks once at the end.
 */
#ifndef AP_JSON_H
#define AP_JSON_H

#include <stdint.h>
#include <stdio.h>

#define AP_JSON_DEPTH 64

struct ap_json {
	FILE *f;
	int depth;
	int err;
	int compact;		/* one line: no newlines or indents inside a value (JSON Lines) */
	unsigned char first[AP_JSON_DEPTH];
};

void ap_json_init(struct ap_json *j, FILE *f);
void ap_json_obj(struct ap_json *j, const char *key);	/* { */
void ap_json_arr(struct ap_json *j, const char *key);	/* [ */
void ap_json_end_obj(struct ap_json *j);
void ap_json_end_arr(struct ap_json *j);
void ap_json_u64(struct ap_json *j, const char *key, uint64_t v);
void ap_json_i64(struct ap_json *j, const char *key, int64_t v);
void ap_json_num(struct ap_json *j, const char *key, double v, int decimals);
void ap_json_str(struct ap_json *j, const char *key, const char *s);
void ap_json_bool(struct ap_json *j, const char *key, int v);
void ap_json_null(struct ap_json *j, const char *key);
/* A value written as it is (a number the caller formatted). */
void ap_json_raw(struct ap_json *j, const char *key, const char *text);

#endif /* AP_JSON_H */
