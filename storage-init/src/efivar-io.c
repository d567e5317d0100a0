#define _GNU_SOURCE
#include "efivar.h"
#include "log.h"
#include "mounts.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define EFIVAR_PATH EFIVARS_DIR "/" LOADER_DEVICE_PART_UUID

static int read_var(unsigned char *buf, size_t size, size_t *len)
{
	size_t got = 0;
	ssize_t r;
	int fd = open(EFIVAR_PATH, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	/* one more byte than the longest value: a longer one is refused, not cut */
	while (got < size && (r = read(fd, buf + got, size - got)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = errno;
			close(fd);
			errno = (int)r;
			return -1;
		}
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return 0;
}

int efivar_boot_spec(char *spec, size_t size, char *err, size_t errlen)
{
	unsigned char buf[EFIVAR_PARTUUID_MAX + 1];
	char uuid[PARTUUID_LEN + 1], why[160];
	struct stat st;
	size_t len = 0;
	int mounted = 0, rc, saved;

	/* the kernel makes this directory when the firmware has EFI runtime services */
	if (stat(EFIVARS_DIR, &st) < 0) {
		snprintf(err, errlen, "no " EFIVARS_DIR " (%s): not booted with UEFI, or without EFI runtime services; "
			 "boot = esp needs the boot loader's " LOADER_DEVICE_PART_UUID, strerror(errno));
		return -1;
	}
	if (stat(EFIVAR_PATH, &st) < 0 && errno == ENOENT) {
		if (do_mount("efivarfs", EFIVARS_DIR, "efivarfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
			snprintf(err, errlen, "mount efivarfs on " EFIVARS_DIR ": %s (is the efivarfs module loaded?)",
				 strerror(errno));
			return -1;
		}
		mounted = 1;
		log_debug("efivarfs mounted read-only on " EFIVARS_DIR);
	}
	rc = read_var(buf, sizeof buf, &len);
	saved = errno;
	/* the real system mounts efivarfs itself, read-write */
	if (mounted && umount2(EFIVARS_DIR, 0) < 0)
		log_warn("unmount " EFIVARS_DIR ": %s", strerror(errno));
	if (rc < 0) {
		if (saved == ENOENT)
			snprintf(err, errlen, EFIVAR_PATH " is not set: the boot loader did not say which partition it "
				 "was started from (systemd-boot and systemd-stub set it)");
		else
			snprintf(err, errlen, "read " EFIVAR_PATH ": %s", strerror(saved));
		return -1;
	}
	if (efivar_parse_partuuid(buf, len, uuid, why, sizeof why) < 0) {
		snprintf(err, errlen, EFIVAR_PATH ": %s", why);
		return -1;
	}
	if (str_concat(spec, size, "PARTUUID=", uuid) < 0) {
		snprintf(err, errlen, "PARTUUID=%s: too long", uuid);
		return -1;
	}
	return 0;
}
