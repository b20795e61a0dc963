/* SPDX-License-Identifier: MIT */
/* file.c - directories, bounded whole-file reads, reports into memory (file.h). */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

int ap_mkdir_p(const char *dir)
{
	char path[4096];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, n + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	{
		struct stat st;

		if (stat(path, &st) < 0)
			return -errno;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
	}
	return 0;
}

int ap_dir_writable(const char *dir)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/.agentprof-probe-%d", dir, (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	unlink(path);
	return 0;
}

int ap_read_file(const char *path, uint64_t max, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *b;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		close(fd);
		return S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	b[got] = '\0';
	*out = b;
	*len = got;
	return 0;
}

struct membuf {
	char *p;
	size_t len, cap;
};

static ssize_t membuf_write(void *c, const char *buf, size_t n)
{
	struct membuf *m = c;

	if (m->len + n > m->cap) {
		size_t cap = m->cap ? m->cap : 65536;
		char *p;

		while (cap < m->len + n)
			cap *= 2;
		p = realloc(m->p, cap);
		if (!p) {
			errno = ENOMEM;
			return -1;
		}
		m->p = p;
		m->cap = cap;
	}
	memcpy(m->p + m->len, buf, n);
	m->len += n;
	return (ssize_t)n;
}

char *ap_render_mem(int (*fill)(FILE *f, void *ctx), void *ctx, size_t *len, int *err)
{
	static const cookie_io_functions_t io = { .write = membuf_write };
	struct membuf m = { NULL, 0, 0 };
	FILE *f = fopencookie(&m, "w", io);
	int ret;

	*err = 0;
	if (!f) {
		*err = -ENOMEM;
		return NULL;
	}
	setvbuf(f, NULL, _IOFBF, 65536);
	ret = fill(f, ctx);
	if (fclose(f) == EOF && !ret)
		ret = -ENOMEM;
	if (!ret && !m.p && !(m.p = malloc(1)))
		ret = -ENOMEM;	/* an empty report is still a report */
	if (ret) {
		free(m.p);
		*err = ret;
		return NULL;
	}
	*len = m.len;
	return m.p;
}
