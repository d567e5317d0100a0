/* handover_tree() on host directories, driven by tests/handover.sh:
 *   handover-io MANIFEST SRC DST SKIP
 * prints the counts, or "FAILED PATH: REASON" and exits 1. */
#define _GNU_SOURCE
#include "handover.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char text[MANIFEST_FILE_MAX + 1];
static struct manifest m;
static struct handover_report rep;

int main(int argc, char **argv)
{
	char err[160];
	size_t len;
	int src, dst;

	if (argc != 5) {
		fprintf(stderr, "usage: handover-io MANIFEST SRC DST SKIP\n");
		return 2;
	}
	log_use_stderr();
	log_set_level(7);
	if (read_file(argv[1], text, sizeof text, &len) < 0 ||
	    manifest_parse(&m, text, len, err, sizeof err) < 0) {
		printf("FAILED %s: manifest\n", argv[1]);
		return 1;
	}
	src = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dst = open(argv[3], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src < 0 || dst < 0) {
		printf("FAILED open: %s\n", strerror(errno));
		return 1;
	}
	if (handover_tree(src, dst, &m, argv[4], &rep) < 0) {
		printf("FAILED %s: %s\n", rep.path, rep.reason);
		return 1;
	}
	printf("files %lu bytes %llu dirs %lu symlinks %lu nodes %lu links %lu replaced %lu skipped %lu\n",
	       rep.st.files, rep.st.bytes, rep.st.dirs, rep.st.symlinks, rep.st.nodes, rep.st.links,
	       rep.st.replaced, rep.st.skipped);
	return 0;
}
