/* /etc/initoverlayfs.conf: table-driven parser (pure: works on a buffer). */
#ifndef SI_CONFIG_H
#define SI_CONFIG_H

#include <stddef.h>
#include "util.h"

#define CFG_PATH "/etc/initoverlayfs.conf"
#define CFG_FILE_MAX   (64 * 1024)  /* whole config file */
#define CFG_LINE_MAX   1024         /* one line, without its newline */
#define CFG_VALUE_MAX  512
#define CFG_PARAMS_MAX 256          /* module parameters */
#define CFG_MAX_MODULES 128
#define CFG_MAX_SHIMS   8          /* entries of a path list (shim, shim_script) */
#define CFG_ERR_MAX    256
#define CFG_MAX_SYSEXTS 128        /* sysext_roothash entries (extensions stacked at most) */
#define SYSEXT_ROOTHASH_HEX 64     /* a sha256 dm-verity root hash */

enum failure_policy { FAILURE_PANIC = 0, FAILURE_REBOOT, FAILURE_SHELL };
enum integrity_mode { INTEGRITY_NONE = 0, INTEGRITY_DM_VERITY, INTEGRITY_FS_VERITY, INTEGRITY_COPY };
/* plain: EROFS from offset 0, hash area appended; ddi: a Discoverable Disk
 * Image (GPT: root, root-verity, optional root-verity-sig partitions) */
enum image_format { IMAGE_PLAIN = 0, IMAGE_DDI };
#define CFG_UNSET ((unsigned long)-1)   /* number keys not given */
#define CFG_DIGEST_MAX 64               /* SHA-512 */
#define CFG_SALT_MAX 256                /* dm-verity salt bytes */
#define VERITY_BLOCK 4096               /* dm-verity data and hash block size */
/* verity_hash_offset: a file offset (off_t is signed) with room for the
 * superblock and one hash block after it, so offset + 2 blocks never wraps */
#define VERITY_OFFSET_MAX (CFG_UNSET / 2 - 2 * VERITY_BLOCK)
enum cfg_origin { CFG_FROM_FILE = 0, CFG_FROM_CMDLINE };

struct module_spec {
	char path[SI_PATH_MAX];
	char params[CFG_PARAMS_MAX];
	/* storage module: a driver that may be what makes the boot device
	 * appear; loaded only while the boot device is still missing */
	unsigned char storage_module;
	/* optional module: it needs a CPU or firmware feature (an accelerated
	 * hash; efivarfs needs UEFI); the kernel may refuse it: logged, not
	 * fatal (the generic hash runs; boot = esp says what it cannot read) */
	unsigned char optional_module;
	/* boot filesystem module: loaded just before the boot partition is
	 * mounted as this type (one of mount_fstypes); "" for the others */
	char bootfs[8];
};

/* A repeatable key holding absolute paths. */
struct path_list {
	size_t n;
	char path[CFG_MAX_SHIMS][SI_PATH_MAX];
	unsigned char given;         /* set explicitly (no default list) */
	unsigned char from_cmdline;  /* replaced by the kernel command line */
};

struct config {
	char boot[CFG_VALUE_MAX];
	char bootfstype[16];
	char bootflags[CFG_VALUE_MAX];
	char image[SI_PATH_MAX];
	char init[SI_PATH_MAX];
	char shell[SI_PATH_MAX];
	unsigned long timeout;     /* seconds */
	unsigned long loglevel;    /* 0..7, highest kmsg level we emit */
	enum failure_policy failure;
	size_t n_modules;
	struct module_spec modules[CFG_MAX_MODULES];
	struct path_list shims;      /* switch-root programs to replace */
	struct path_list scripts;    /* scripts whose bare-name calls get rewritten */
	unsigned char modules_from_cmdline;
	/* cmdline = yes (default): initoverlayfs.* on the kernel command line
	 * apply; no: ignored, every key comes from the file (config file only) */
	unsigned char cmdline;

	/* integrity: which image this mini initramfs accepts (config file only) */
	enum integrity_mode integrity;
	char digest[8 + 2 * CFG_DIGEST_MAX];      /* fs-verity digest "sha256:HEX" */
	char verity_roothash[2 * CFG_DIGEST_MAX + 1];
	char verity_salt[2 * CFG_SALT_MAX + 1];   /* hex, or "-" for none */
	char verity_hashalg[8];                   /* sha256, sha512, sha1 */
	unsigned long verity_format;              /* 1 normal, 0 Chrome OS */
	unsigned long verity_data_blocks;
	unsigned long verity_hash_offset;         /* bytes; superblock there */
	char verity_sig[SI_PATH_MAX];             /* PKCS#7 signature file, or "" */
	char verity_cert[SI_PATH_MAX];            /* ddi: pinned signer certificate (DER/PEM), or "" */
	enum image_format image_format;           /* ddi: verity_hash_offset is the root-verity partition */
	unsigned char image_format_given;
	/* system extensions: the root hashes of those that may be stacked
	 * (config file only; see sysext.h) */
	size_t n_sysext;
	char sysext_roothash[CFG_MAX_SYSEXTS][SYSEXT_ROOTHASH_HEX + 1];
	/* derived by config_finish */
	unsigned digest_alg;                      /* 1 SHA-256, 2 SHA-512 (fs-verity's numbers) */
	size_t digest_len;
	unsigned char digest_bin[CFG_DIGEST_MAX];
};

extern const char *const integrity_names[4];
extern const char *const image_format_names[2];

/* Called for non-fatal diagnostics (unknown keys). */
typedef void (*cfg_warn_fn)(void *ctx, const char *msg);

enum cfg_result { CFG_OK = 0, CFG_UNKNOWN_KEY = 1, CFG_BAD = -1 };

void config_defaults(struct config *c);

/* Set one key. Returns CFG_OK, CFG_UNKNOWN_KEY (nothing changed) or
 * CFG_BAD with a message in err. Repeatable keys (module, shim) append;
 * the first one coming from the kernel command line replaces the list
 * from the file; an empty value empties the list. */
int config_set(struct config *c, const char *key, const char *value,
	       enum cfg_origin origin, char *err, size_t errlen);

/* Parse a whole config file held in buf[0..len). Unknown keys are reported
 * through warn and ignored. Returns 0, or -1 with "line N: ..." in err. */
int config_parse(struct config *c, const char *buf, size_t len,
		 cfg_warn_fn warn, void *ctx, char *err, size_t errlen);

/* Fill defaults that depend on what was set (default shim list), check
 * required keys. Returns 0 or -1 with a message. */
int config_finish(struct config *c, char *err, size_t errlen);

/* Names of the keys, for --help style listings; NULL-terminated. */
const char *config_key_name(size_t i);

#endif
