/* SPDX-License-Identifier: MIT */
/*
 * dump.h - replace report files in a directory without holding up the drain,
 * and so that a crash at any moment leaves the previous file or the new one,
 * never a partial one.
 *
 * A dumper is a client of the I/O engine (aio.h): each file is one REPLACE
 * job in a slot of its own (name.tmp written, fsynced, renamed over name,
 * directory fsynced). The drain thread renders a report into memory, hands
 * the buffer over and goes on; the callback counts the outcome and frees the
 * buffer. A file whose previous dump is still in flight (a slow disk) is not
 * dumped this time and is counted as skipped. A failed dump (a full disk)
 * keeps the previous file, is counted, and its error is kept as the last.
 */
#ifndef AP_DUMP_H
#define AP_DUMP_H

#include <stddef.h>
#include <stdint.h>

#include "aio.h"

#define AP_DUMP_FILES_MAX	AP_AIO_SLOTS_MAX

struct ap_dump_file {
	struct ap_aio_job job;
	char *buf;		/* owned while in flight */
	int busy;
	int result;		/* of the last dump of this slot that ended: 0 or -errno */
};

struct ap_dump {
	struct ap_aio *aio;
	int dirfd;
	struct ap_dump_file f[AP_DUMP_FILES_MAX];
	uint64_t written;	/* files replaced */
	uint64_t failed;	/* dumps that failed: the previous file stays */
	uint64_t skipped_busy;	/* not dumped: its previous dump was still in flight */
	uint64_t bytes;
	int last_err;		/* -errno of the last failure, 0 */
	char last_err_file[AP_AIO_NAME_MAX];
};

/* Open dir (which must exist) for dumps through aio. 0 or -errno. */
int ap_dump_init(struct ap_dump *d, struct ap_aio *aio, const char *dir);

/*
 * Replace file `slot` (< the engine's slots) of the directory, named `name`,
 * with buf[0..len). Takes buf (malloc'd) in every case. Returns 0, -EBUSY
 * when the slot's previous dump is still in flight (counted in
 * skipped_busy), or -errno when it could not be queued (counted as failed).
 * Never waits.
 */
int ap_dump_submit(struct ap_dump *d, uint32_t slot, const char *name, char *buf, size_t len);

/* Collect finished dumps without waiting. */
void ap_dump_poll(struct ap_dump *d);

/* Wait until none of this dumper's files is in flight. */
void ap_dump_wait(struct ap_dump *d);

/* Wait, then close the directory. */
void ap_dump_close(struct ap_dump *d);

#endif /* AP_DUMP_H */
