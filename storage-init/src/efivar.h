/* The EFI variable that names the partition the boot loader (systemd-boot,
 * systemd-stub) was started from: pure parsing, and reading it from efivarfs. */
#ifndef SI_EFIVAR_H
#define SI_EFIVAR_H

#include <stddef.h>

/* the boot spec that means "the partition in LoaderDevicePartUUID" */
#define BOOT_SPEC_ESP "esp"
#define EFIVARS_DIR "/sys/firmware/efi/efivars"
#define LOADER_DEVICE_PART_UUID "LoaderDevicePartUUID-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"
/* 4 bytes of attributes, then a UTF-16LE GUID string (36 units) and maybe its NUL */
#define EFIVAR_PARTUUID_MAX (4 + 2 * 37)
#define PARTUUID_LEN 36

/* An efivarfs file's bytes (attributes + data) -> the GUID in lower case
 * (out: at least PARTUUID_LEN + 1 bytes). 0, or -1 with the reason in err. */
int efivar_parse_partuuid(const unsigned char *buf, size_t len, char *out, char *err, size_t errlen);

/* Reads LoaderDevicePartUUID (mounting efivarfs on EFIVARS_DIR read-only
 * for the read if nothing is there, unmounting it after) and writes
 * "PARTUUID=<guid>" to spec. 0, or -1 with one line in err (not booted
 * with UEFI, the variable not set, malformed). */
int efivar_boot_spec(char *spec, size_t size, char *err, size_t errlen);

#endif
