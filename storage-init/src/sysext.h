/* System extensions stacked on the image (src/formats/storage-init-config/
 * schema.ts: SYSEXT_*). NAME.raw files, each a DDI with a root (EROFS) and a
 * root-verity partition, whose root hash the config pins (sysext_roothash),
 * found in, in this order (later ones stack higher; within a directory by
 * name):
 *   /.extra/sysext/                       what systemd-stub passes
 *   /boot<image dir>/initoverlayfs-extensions/   every kernel's image
 *   /boot<image>.extra.d/                  this image only
 * Each is checked before use: its partitions' GUIDs name a pinned root hash
 * (or its signature partition verifies against the pinned signer), every
 * block of its root partition hashes to that root hash, only /usr and /opt
 * at its top, SYSEXT_SCOPE includes initrd, ID is the image's os-release ID
 * or _any. Anything else is skipped with one log line, never stacked.
 * An extension of at most SYSEXT_RAM_ONE bytes is verified in memory and
 * merged into a RAM layer (merge.h), no device left for it; a larger one, or
 * one that cannot be copied there, is read through a loop and a dm-verity
 * device of its own and stays mounted as its own layer. */
#ifndef SI_SYSEXT_H
#define SI_SYSEXT_H

#include <stddef.h>
#include "config.h"

#define SYSEXT_STUB_DIR "/.extra/sysext"
#define SYSEXT_SHARED_DIR "initoverlayfs-extensions"
#define SYSEXT_IMAGE_SUFFIX ".extra.d"
#define SYSEXT_CERT_PATH "/etc/initoverlayfs/sysext-cert.der"
#define SYSEXT_SUFFIX ".raw"
/* an extension whose root partition is at most this goes into RAM */
#define SYSEXT_RAM_ONE (16 * 1048576)
/* the RAM layers' tmpfs: at most this, and where under mnt_dir */
#define SYSEXT_RAM_SIZE "64m"
#define SYSEXT_RAM_DIR "r"
#define SYSEXT_RAM_STAGE "s"   /* in SYSEXT_RAM_DIR: the extension being copied */
#define SYSEXT_RAM_MOUNT "m"   /* its EROFS, mounted from the memfd */

struct sysext_report {
	size_t stacked, skipped, layers;
};

/* Stacks each usable extension read-only under mnt_dir and writes the
 * overlay's lower layers, topmost first, ending with image_root, into lower.
 * image_path: the image on the mounted boot partition. What cannot be used
 * is skipped (logged); the boot fails only when a RAM layer cannot be
 * completed (a merge half done). */
void sysext_apply(const struct config *c, const char *image_path, const char *image_root,
		  const char *mnt_dir, char *lower, size_t lowersize, struct sysext_report *rep);

/* Whether an extension on the boot filesystem could be stacked: some root
 * hash or a signer is pinned. If not, /boot need not be mounted for them. */
int sysext_may_read_boot(const struct config *c);

/* After the overlay is mounted (it holds its own references): detach the
 * extensions' mounts under mnt_dir. */
void sysext_release(const char *mnt_dir);

#endif
