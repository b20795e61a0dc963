/* SPDX-License-Identifier: MIT */
/*
 * driver.c - runs a fuzz harness's entry point over files, without
 * libFuzzer: `make test` replays every input that ever crashed
 * (tests/fuzz/regress/HARNESS/) and the seed corpus through the harnesses
 * built with the ordinary compiler (and, in CI, under ASan and UBSan).
 *
 *   fuzz-replay-HARNESS FILE|DIR...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)(n > 0 ? n : 0));
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned runs = 0;

	for (int a = 1; a < argc; a++) {
		struct stat st;
		DIR *d;
		struct dirent *e;

		if (stat(argv[a], &st))
			continue;	/* an empty regress folder is fine */
		if (!S_ISDIR(st.st_mode)) {
			runs += run_file(argv[a]) == 0;
			continue;
		}
		d = opendir(argv[a]);
		while (d && (e = readdir(d))) {
			char path[4096];

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[a], e->d_name);
			runs += run_file(path) == 0;
		}
		if (d)
			closedir(d);
	}
	printf("%s: %u inputs, no crash\n", argv[0], runs);
	return 0;
}
