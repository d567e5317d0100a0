/* Host helper for test/storage-init/ddi.test.ts: storage-init's config
 * parser and DDI checks (ddi_locate) on a config file and an image file.
 * usage: ddi-locate CONFIG IMAGE -> "root=OFF+SIZE verity=OFF+SIZE sig=0|1", or the reason, exit 1.
 * The config's verity_cert is read from the host's file system, as image.c reads it in the mini. */
#include "config.h"
#include "ddi.h"
#include "pkcs7.h"
#include "util.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static char text[CFG_FILE_MAX];
	static struct config c;
	static char cert[PKCS7_CERT_MAX + 1];
	size_t cert_len = 0;
	struct ddi_layout l;
	char err[256];
	struct stat st;
	ssize_t n;
	int fd;

	if (argc != 3)
		return 2;
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || (n = read(fd, text, sizeof text)) < 0)
		return perror(argv[1]), 2;
	close(fd);
	config_defaults(&c);
	if (config_parse(&c, text, (size_t)n, NULL, NULL, err, sizeof err) < 0 || config_finish(&c, err, sizeof err) < 0) {
		fprintf(stderr, "config: %s\n", err);
		return 2;
	}
	if (c.verity_cert[0] && read_file(c.verity_cert, cert, sizeof cert, &cert_len) < 0)
		return perror(c.verity_cert), 2;
	fd = open(argv[2], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		return perror(argv[2]), 2;
	if (ddi_locate(fd, (uint64_t)st.st_size, &c, (const unsigned char *)cert, cert_len, &l, err, sizeof err) < 0) {
		fprintf(stderr, "%s: %s\n", argv[2], err);
		return 1;
	}
	printf("root=%llu+%llu verity=%llu+%llu sig=%d\n", (unsigned long long)l.root.offset,
	       (unsigned long long)l.root.size, (unsigned long long)l.verity.offset,
	       (unsigned long long)l.verity.size, l.has_sig);
	return 0;
}
