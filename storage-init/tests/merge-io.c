/* merge.c on host directories, driven by tests/merge.sh:
 *   merge-io copy SRC DST | over UPPER LOWER | remove PATH
 * exit 0, or "FAILED OP PATH: REASON" and exit 1. */
#include "merge.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	struct merge_error e;
	int rc;

	if (argc == 4 && strcmp(argv[1], "copy") == 0)
		rc = merge_copy_tree(argv[2], argv[3], &e);
	else if (argc == 4 && strcmp(argv[1], "over") == 0)
		rc = merge_over(argv[2], argv[3], &e);
	else if (argc == 3 && strcmp(argv[1], "remove") == 0)
		rc = merge_remove_tree(argv[2], &e);
	else {
		fprintf(stderr, "usage: merge-io copy SRC DST | over UPPER LOWER | remove PATH\n");
		return 2;
	}
	if (rc < 0) {
		printf("FAILED %s %s: %s\n", e.op, e.path, strerror(e.err));
		return 1;
	}
	return 0;
}
