/* regress_main.c — a plain main() for the fuzz targets (no libFuzzer): feeds every file named
 * on the command line, or found in a directory named there, to LLVMFuzzerTestOneInput once.
 * Built with gcc and the sanitizers so saved corpora and crash inputs replay in `make check`. */
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
	if (!f) {
		perror(path);
		return -1;
	}
	size_t cap = 4096, n = 0, r;
	unsigned char *buf = malloc(cap);
	while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	/* An exact-size copy, so ASan sees reads past the end as libFuzzer would. */
	unsigned char *exact = malloc(n ? n : 1);
	memcpy(exact, buf, n);
	free(buf);
	LLVMFuzzerTestOneInput(exact, n);
	free(exact);
	return 0;
}

int main(int argc, char **argv)
{
	int files = 0, errors = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st)) {
			perror(argv[i]);
			errors++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			errors += run_file(argv[i]) != 0;
			files++;
			continue;
		}
		struct dirent **names;
		int n = scandir(argv[i], &names, NULL, alphasort);
		if (n < 0) {
			perror(argv[i]);
			errors++;
			continue;
		}
		for (int j = 0; j < n; j++) {
			char p[4096];
			snprintf(p, sizeof p, "%s/%s", argv[i], names[j]->d_name);
			if (names[j]->d_name[0] != '.' && !stat(p, &st) && S_ISREG(st.st_mode)) {
				errors += run_file(p) != 0;
				files++;
			}
			free(names[j]);
		}
		free(names);
	}
	printf("%s: %d input(s) replayed\n", argv[0], files);
	return errors ? 1 : 0;
}
