/*
 * Test-only: enables fs-verity (SHA-256, 4096-byte blocks, no salt) on each file named, inside a
 * QEMU guest (the build machines' kernel has no fs-verity). Static, so the test root needs no
 * libraries. The ioctl layout is the kernel's uapi struct fsverity_enable_arg (128 bytes).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct enable_arg {
	uint32_t version, hash_algorithm, block_size, salt_size;
	uint64_t salt_ptr;
	uint32_t sig_size, reserved1;
	uint64_t sig_ptr;
	uint64_t reserved2[11];
};
_Static_assert(sizeof(struct enable_arg) == 128, "uapi layout");
#define FS_IOC_ENABLE_VERITY _IOW('f', 133, struct enable_arg)

int main(int argc, char **argv)
{
	int i, rc = 0;

	for (i = 1; i < argc; i++) {
		struct enable_arg a;
		int fd = open(argv[i], O_RDONLY | O_CLOEXEC);

		memset(&a, 0, sizeof a);
		a.version = 1;
		a.hash_algorithm = 1; /* SHA-256 */
		a.block_size = 4096;
		if (fd < 0 || ioctl(fd, FS_IOC_ENABLE_VERITY, &a) != 0) {
			printf("VERITY-ENABLE-FAILED %s: %s\n", argv[i], strerror(errno));
			rc = 1;
		} else {
			printf("VERITY-ENABLED %s\n", argv[i]);
		}
		if (fd >= 0)
			close(fd);
	}
	return rc;
}
