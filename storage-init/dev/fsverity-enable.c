/* Developer tool for dev/boot-test.sh: FS_IOC_ENABLE_VERITY (SHA-256,
 * 4096-byte blocks, no salt) on FILE, inside a QEMU guest whose kernel has
 * fs-verity (the build host's may not). Static musl; no fsverity-utils. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct enable_arg {             /* linux/fsverity.h: struct fsverity_enable_arg */
	uint32_t version;       /* 1 */
	uint32_t hash_algorithm; /* 1 = SHA-256 */
	uint32_t block_size;
	uint32_t salt_size;
	uint64_t salt_ptr;
	uint32_t sig_size;
	uint32_t reserved1;
	uint64_t sig_ptr;
	uint64_t reserved2[11];
};
_Static_assert(sizeof(struct enable_arg) == 128, "fsverity_enable_arg is 128 bytes");
#define FS_IOC_ENABLE_VERITY 0x40806685ul /* _IOW('f', 133, struct fsverity_enable_arg) */

int main(int argc, char **argv)
{
	struct enable_arg a;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: fsverity-enable FILE\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	memset(&a, 0, sizeof a);
	a.version = 1;
	a.hash_algorithm = 1;
	a.block_size = 4096;
	if (ioctl(fd, FS_IOC_ENABLE_VERITY, &a) < 0) {
		perror("FS_IOC_ENABLE_VERITY");
		return 1;
	}
	close(fd);
	return 0;
}
