/* storage-init: PID 1 of the initoverlayfs mini initramfs. See README.md. */
#define _GNU_SOURCE
#include "args.h"
#include "blkid.h"
#include "blockdev.h"
#include "cmdline.h"
#include "config.h"
#include "efivar.h"
#include "failure.h"
#include "handover.h"
#include "image.h"
#include "log.h"
#include "manifest.h"
#include "modules.h"
#include "mounts.h"
#include "shims.h"
#include "switchroot.h"
#include "sysext.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#ifndef SI_VERSION
#define SI_VERSION "0.1.0"
#endif

#define BOOT_MNT  "/boot"
#define WORK_DIR  "/initoverlayfs"
#define LOWER_MNT WORK_DIR "/lower"
#define RW_MNT    WORK_DIR "/rw"
#define UPPER_DIR RW_MNT "/upper"
#define WORK_SUB  RW_MNT "/work"
#define ROOT_MNT  WORK_DIR "/root"
#define SYSEXT_MNT WORK_DIR "/x"   /* x/N: extension N (short: the overlay options hold them all) */
#define MAX_INIT_ARGS 256

extern char **environ;

static struct config cfg;
static struct handover_report handover;
static char file_buf[CFG_FILE_MAX + 1];
static char cmdline_buf[CMDLINE_MAX + 1];

static void warn_cb(void *ctx, const char *msg)
{
	log_warn("%s: %s", (const char *)ctx, msg);
}

static void print_cb(void *ctx, const char *msg)
{
	fprintf(stderr, "warning: %s: %s\n", (const char *)ctx, msg);
}

/* Config file, then kernel command line overrides, then checks. */
static int load_config(const char *path, char *cmdline, cfg_warn_fn warn, char *err, size_t errlen)
{
	char msg[CFG_ERR_MAX];
	size_t len;

	config_defaults(&cfg);
	if (read_file(path, file_buf, sizeof file_buf, &len) < 0) {
		snprintf(err, errlen, "%s: %s", path,
			 errno == EFBIG ? "file too large" : strerror(errno));
		return -1;
	}
	if (config_parse(&cfg, file_buf, len, warn, (void *)path, msg, sizeof msg) < 0) {
		snprintf(err, errlen, "%s: %s", path, msg);
		return -1;
	}
	if (cmdline && cmdline_apply(&cfg, cmdline, warn, "/proc/cmdline", msg, sizeof msg) < 0) {
		snprintf(err, errlen, "/proc/cmdline: %s", msg);
		return -1;
	}
	if (config_finish(&cfg, msg, sizeof msg) < 0) {
		snprintf(err, errlen, "%s: %s", path, msg);
		return -1;
	}
	return 0;
}

static void print_config(void)
{
	static const char *const pol[] = { "panic", "reboot", "shell" };
	size_t i;

	printf("boot=%s\nbootfstype=%s\nbootflags=%s\nimage=%s\ninit=%s\nshell=%s\n"
	       "timeout=%lu\nloglevel=%lu\nfailure=%s\n",
	       cfg.boot, cfg.bootfstype, cfg.bootflags, cfg.image, cfg.init, cfg.shell,
	       cfg.timeout, cfg.loglevel, pol[cfg.failure]);
	if (!cfg.cmdline)
		printf("cmdline=no\n"); /* only when set: the default needs no line */
	for (i = 0; i < cfg.n_modules; i++)
		printf("%s=%s%s%s%s%s\n", cfg.modules[i].bootfs[0] ? "bootfs_module" :
		       cfg.modules[i].storage_module ? "storage_module" :
		       cfg.modules[i].optional_module ? "optional_module" : "module",
		       cfg.modules[i].bootfs, cfg.modules[i].bootfs[0] ? " " : "",
		       cfg.modules[i].path, cfg.modules[i].params[0] ? " " : "", cfg.modules[i].params);
	if (cfg.shims.n == 0)
		printf("shim=\n"); /* an empty list, as the file says it */
	for (i = 0; i < cfg.shims.n; i++)
		printf("shim=%s\n", cfg.shims.path[i]);
	for (i = 0; i < cfg.scripts.n; i++)
		printf("shim_script=%s\n", cfg.scripts.path[i]);
	printf("integrity=%s\n", integrity_names[cfg.integrity]);
	if (cfg.integrity == INTEGRITY_FS_VERITY || cfg.integrity == INTEGRITY_COPY)
		printf("digest=%s\n", cfg.digest);
	if (cfg.integrity == INTEGRITY_DM_VERITY) {
		printf("verity_roothash=%s\nverity_salt=%s\nverity_hashalg=%s\nverity_format=%lu\n"
		       "verity_data_blocks=%lu\nverity_hash_offset=%lu\n",
		       cfg.verity_roothash, cfg.verity_salt, cfg.verity_hashalg, cfg.verity_format,
		       cfg.verity_data_blocks, cfg.verity_hash_offset);
		if (cfg.verity_sig[0])
			printf("verity_sig=%s\n", cfg.verity_sig);
		if (cfg.verity_cert[0])
			printf("verity_cert=%s\n", cfg.verity_cert);
		if (cfg.image_format_given)
			printf("image_format=%s\n", image_format_names[cfg.image_format]);
	}
	for (i = 0; i < cfg.n_sysext; i++)
		printf("sysext_roothash=%s\n", cfg.sysext_roothash[i]);
}

/* --mount-image CONFIG IMAGE MOUNTPOINT: the boot's image step (integrity
 * check, loop / dm-verity, EROFS mount) on the host, for tests and for
 * trying an image; the mount is left in place. */
static int mount_image_tool(const char *conf, const char *image, const char *mnt)
{
	char err[CFG_ERR_MAX * 2];
	struct image_mounted m;

	log_use_stderr();
	if (load_config(conf, NULL, print_cb, err, sizeof err) < 0) {
		fprintf(stderr, "error: %s\n", err);
		return 1;
	}
	log_set_level(cfg.loglevel);
	failure_set_policy(FAILURE_PANIC, NULL); /* not PID 1: fail() exits 1 */
	image_mount(&cfg, image, NULL, mnt, &m);
	if (blockdev_nodes_release() < 0) {
		fprintf(stderr, "error: release " BLOCKDEV_NODE_DIR ": %s\n", strerror(errno));
		return 1;
	}
	printf("mounted %s on %s from %s (loop %s)\n", image, mnt, m.dev, m.loopdev);
	return 0;
}

/* --check-manifest FILE: what the boot's hand-over step makes of a
 * manifest; prints its paths, one a line, in the boot's order. */
static int check_manifest(const char *path)
{
	static char text[MANIFEST_FILE_MAX + 1];
	static struct manifest m;
	char err[160];
	size_t len, i;

	if (read_file(path, text, sizeof text, &len) < 0) {
		fprintf(stderr, "error: %s: %s\n", path, errno == EFBIG ? "larger than 64 KiB" : strerror(errno));
		return 1;
	}
	if (manifest_parse(&m, text, len, err, sizeof err) < 0) {
		fprintf(stderr, "error: %s: %s\n", path, err);
		return 1;
	}
	for (i = 0; i < m.n; i++)
		printf("%o %u %u %s\n", m.e[i].mode, m.e[i].uid, m.e[i].gid, m.e[i].path);
	return 0;
}

/* Not PID 1: only offline helpers. */
static int tool_mode(int argc, char **argv)
{
	char err[CFG_ERR_MAX * 2];

	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("storage-init %s\n", SI_VERSION);
		return 0;
	}
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "--check-config") == 0) {
		if (argc == 4 && str_copy(cmdline_buf, sizeof cmdline_buf, argv[3]) < 0) {
			fprintf(stderr, "kernel command line too long\n");
			return 1;
		}
		if (load_config(argv[2], argc == 4 ? cmdline_buf : NULL, print_cb, err, sizeof err) < 0) {
			fprintf(stderr, "error: %s\n", err);
			return 1;
		}
		print_config();
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "--check-manifest") == 0)
		return check_manifest(argv[2]);
	if (argc == 5 && strcmp(argv[1], "--mount-image") == 0)
		return mount_image_tool(argv[2], argv[3], argv[4]);
	fprintf(stderr,
		"storage-init %s: the initoverlayfs early init; it must run as PID 1 from the mini initramfs.\n"
		"usage: storage-init --version\n"
		"       storage-init --check-config FILE [KERNEL-CMDLINE]\n"
		"       storage-init --check-manifest FILE\n"
		"       storage-init --mount-image FILE IMAGE MOUNTPOINT   (the boot's image step)\n"
		"As run-init or switch_root (by argv[0]) it switches root without a tmpfs check.\n",
		SI_VERSION);
	return 2;
}

/* ---- the boot flow ---------------------------------------------------- */

/* boot = esp: "PARTUUID=<what LoaderDevicePartUUID says>", read once */
static char esp_spec[sizeof "PARTUUID=" + PARTUUID_LEN];

/* The spec to look for: the configured one, or for esp the partition the
 * boot loader was started from (NULL with the reason in err). */
static const char *boot_spec(char *err, size_t errlen)
{
	if (strcmp(cfg.boot, BOOT_SPEC_ESP) != 0)
		return cfg.boot;
	if (esp_spec[0] == '\0' && efivar_boot_spec(esp_spec, sizeof esp_spec, err, errlen) < 0) {
		esp_spec[0] = '\0';
		return NULL;
	}
	return esp_spec;
}

static int boot_present(void *ctx)
{
	char err[CFG_ERR_MAX];
	struct blockdev b;
	const char *spec = boot_spec(err, sizeof err);

	(void)ctx;
	/* the variable unreadable yet: load the storage drivers, the error comes after */
	return spec && bootdev_present(spec, &b);
}

/* On a failure: the boot device writable again (a shell may need to fix
 * /boot), the fallback nodes gone. */
static void release_boot_device(void)
{
	if (blockdev_release_ro() < 0)
		log_error("BLKROSET 0 on the boot device: %s", strerror(errno));
	if (blockdev_nodes_release() < 0)
		log_error("release " BLOCKDEV_NODE_DIR ": %s", strerror(errno));
}

static void log_handover(const struct handover_stats *s, unsigned long long ms)
{
	if (!s->files && !s->dirs && !s->symlinks && !s->nodes && !s->links && !s->skipped) {
		log_info("appended files: none (the initial rootfs holds only the mini initramfs's own)");
		return;
	}
	log_info("appended files handed over: %lu file(s) (%llu bytes), %lu directorie(s), %lu symlink(s), "
		 "%lu other node(s), %lu extra hard link(s); %lu replaced the image's (%llu ms)",
		 s->files, s->bytes, s->dirs, s->symlinks, s->nodes, s->links, s->replaced, ms);
	if (s->skipped)
		log_warn("%lu appended entr(ies) not handed over (see above)", s->skipped);
}

/* root=: the last one, as the kernel takes it */
static int find_root(void *ctx, char *param, char *val)
{
	if (strcmp(param, "root") == 0 && val && *val)
		*(const char **)ctx = val;
	return 0;
}

/* The boot filesystem was read without its modules. When the real root
 * (root=, there now) is of the same type, the original init loads them
 * anyway: loaded from here, they are not read through the image. A
 * failure is the original init's to deal with, as without us. */
static void load_root_fs_modules(const char *boot_fstype)
{
	static char line[CMDLINE_MAX + 1];
	const struct module_spec *bad;
	unsigned long long t0 = now_ms();
	const char *spec = NULL;
	struct blockdev r;
	size_t n;

	if (read_file("/proc/cmdline", line, sizeof line, NULL) < 0)
		return;
	cmdline_foreach(line, find_root, &spec);
	if (!spec || !bootdev_present(spec, &r) || !r.fstype[0] ||
	    strcmp(mount_fstype(r.fstype), mount_fstype(boot_fstype)) != 0) {
		log_info("root %s: not found now or not %s: the boot filesystem's modules stay unloaded",
			 spec ? spec : "(none on the command line)", mount_fstype(boot_fstype));
		return;
	}
	if (modules_load_bootfs(&cfg, r.fstype, &bad, &n) < 0) {
		log_warn("module %s for the root: %s; the original init will try", bad->path, strerror(errno));
		return;
	}
	log_info("root %s is %s (%s) too: %zu module(s) of the boot filesystem's loaded for it (%llu ms)", spec,
		 r.node, mount_fstype(r.fstype), n, now_ms() - t0);
}

/* Before each try at mounting the boot partition: that type's modules. */
static void load_bootfs_modules(const char *type, void *ctx)
{
	const struct module_spec *bad;
	unsigned long long t0 = now_ms();
	size_t n;

	(void)ctx;
	if (modules_load_bootfs(&cfg, type, &bad, &n) < 0)
		fail_errno("load modules", bad->path, errno);
	if (n)
		log_info("boot filesystem %s: %zu module(s) loaded (%llu ms)", mount_fstype(type), n,
			 now_ms() - t0);
}

static int storage_init(int argc, char **argv)
{
	char err[CFG_ERR_MAX * 2], image_path[SI_PATH_MAX + 8];
	/* a page: the most mount(2) takes; CFG_MAX_SYSEXTS layers fit */
	static char ovl_opts[4096], lower[4096 - 3 * SI_PATH_MAX];
	struct sysext_report sx;
	char *init_argv[MAX_INIT_ARGS + 1];
	const struct module_spec *bad_mod;
	struct module_counts nmod;
	const char *what, *fstype, *spec;
	struct blockdev bdev;
	struct shim_report rep;
	struct image_mounted img;
	/* how a failed switch_by_move() step is named in the FAILED line */
	static const char *const move_what[] = {
		[MOVE_OPEN_ROOT] = "open /",
		[MOVE_MOUNT] = "mount --move " ROOT_MNT " /",
		[MOVE_CHROOT] = "chroot " ROOT_MNT,
		[MOVE_CHDIR] = "chroot " ROOT_MNT,
	};
	enum move_step step;
	unsigned long long t0 = now_ms(), t1;
	int i, unmounted;

	if (mount_api_filesystems(&what) < 0)
		fail_errno("mount API filesystems", what, errno);
	ensure_std_fds();
	log_open(NULL);
	log_unlimit_devkmsg();
	log_info("storage-init %s starting", SI_VERSION);

	/* configuration */
	if (read_file("/proc/cmdline", cmdline_buf, sizeof cmdline_buf, NULL) < 0)
		fail_errno("read configuration", "/proc/cmdline", errno);
	modules_set_cmdline(cmdline_buf);
	if (load_config(CFG_PATH, cmdline_buf, warn_cb, err, sizeof err) < 0)
		fail("read configuration", "configuration", err);
	failure_set_policy(cfg.failure, cfg.shell);
	log_set_level(cfg.loglevel);
	log_debug("boot=%s image=%s timeout=%lu modules=%zu shims=%zu", cfg.boot, cfg.image,
		  cfg.timeout, cfg.n_modules, cfg.shims.n);
	if ((size_t)argc > MAX_INIT_ARGS)
		fail("read configuration", "init arguments", "too many");

	/* modules: the ones always needed, then storage drivers until the boot device shows up */
	if (modules_load(&cfg, boot_present, NULL, &bad_mod, &nmod) < 0)
		fail_errno("load modules", bad_mod->path, errno);
	if (nmod.skipped)
		log_info("%zu module(s) loaded, %zu storage module(s) not needed: the boot device is there (%llu ms)",
			 nmod.loaded, nmod.skipped, now_ms() - t0);
	else
		log_info("%zu module(s) loaded (%llu ms)", nmod.loaded, now_ms() - t0);
	if (nmod.refused)
		log_info("%zu optional module(s) refused by the kernel (a CPU or firmware feature missing)",
			 nmod.refused);

	/* boot device */
	spec = boot_spec(err, sizeof err);
	if (!spec)
		fail("find boot device", cfg.boot, err);
	if (spec != cfg.boot)
		log_info("boot = esp: the boot loader was started from %s (" LOADER_DEVICE_PART_UUID ")", spec);
	if (bootdev_find(spec, cfg.timeout, &bdev, err, sizeof err) < 0)
		fail("find boot device", spec, err);
	/* nothing we do may write to it: not even a journal replay */
	failure_set_cleanup(release_boot_device);
	if (blockdev_hold_ro(bdev.node) < 0)
		fail_errno("mount boot device", bdev.node, errno);
	if (str_concat(image_path, sizeof image_path, BOOT_MNT, cfg.image) < 0)
		fail_errno("open image", cfg.image, ENAMETOOLONG);
	if (mkdir_exist_ok(WORK_DIR, 0700) < 0 || mkdir_exist_ok(LOWER_MNT, 0755) < 0)
		fail_errno("mount image", LOWER_MNT, errno);

	/* image -> integrity check -> loop (-> dm-verity) -> erofs; with the
	 * contents pinned by dm-verity, found in the boot filesystem's own
	 * metadata first: then it is never mounted, and its modules load only
	 * for a root of the same type */
	unmounted = 0;
	if (cfg.integrity == INTEGRITY_DM_VERITY && cfg.image_format == IMAGE_PLAIN && !sysext_may_read_boot(&cfg)) {
		if (image_mount_unmounted(&cfg, bdev.node, bdev.fstype, LOWER_MNT, &img, err, sizeof err) == 0) {
			unmounted = 1;
			load_root_fs_modules(bdev.fstype);
		} else {
			log_info("image %s: not read from %s's metadata (%s): mounting it", cfg.image, bdev.node, err);
		}
	}
	if (!unmounted) {
		if (mkdir_exist_ok(BOOT_MNT, 0755) < 0)
			fail_errno("mount boot device", BOOT_MNT, errno);
		if (mount_boot(bdev.node, BOOT_MNT, cfg.bootfstype, bdev.fstype, cfg.bootflags,
			       load_bootfs_modules, NULL, &fstype) < 0)
			fail_errno("mount boot device", bdev.node, errno);
		log_info("%s mounted read-only on " BOOT_MNT " (%s%s%s)", bdev.node, fstype,
			 mount_no_replay_option(fstype) ? ", " : "",
			 mount_no_replay_option(fstype) ? mount_no_replay_option(fstype) : "");
		image_mount(&cfg, image_path, bdev.node, LOWER_MNT, &img);
	}
	failure_set_image_root(LOWER_MNT);
	/* extensions: read from the initial rootfs and /boot, verified, mounted
	 * before the hand-over (which moves /.extra into the new root) */
	sysext_apply(&cfg, image_path, LOWER_MNT, SYSEXT_MNT, lower, sizeof lower, &sx);
	/* Nothing of ours holds the boot filesystem (its blocks are read from the
	 * partition, or a sealed memfd): unmount it for real, so the system can
	 * mount and fsck it read-write. Otherwise the loop device holds the image
	 * file, and /boot is only detached. */
	if (unmounted) {
		log_info("%s (%lld bytes) mounted on " LOWER_MNT " from %s; %s was never mounted", cfg.image, img.size,
			 img.dev, bdev.node);
	} else if ((img.unpinned || cfg.integrity == INTEGRITY_COPY) && umount2(BOOT_MNT, 0) == 0) {
		log_info("%s (%lld bytes) mounted on " LOWER_MNT " from %s; " BOOT_MNT " unmounted",
			 image_path, img.size, img.dev);
	} else {
		if (img.unpinned)
			log_warn("cannot unmount " BOOT_MNT ": %s; detaching it", strerror(errno));
		if (umount2(BOOT_MNT, MNT_DETACH) < 0)
			fail_errno("detach boot device", BOOT_MNT, errno);
		log_info("%s (%lld bytes) mounted on " LOWER_MNT " from %s; " BOOT_MNT " detached",
			 image_path, img.size, img.dev);
	}
	/* done with the devices: the real system mounts /boot read-write, and
	 * nothing of ours may pass the hand-over */
	if (blockdev_release_ro() < 0)
		fail_errno("detach boot device", bdev.node, errno);
	if (blockdev_nodes_release() < 0)
		fail_errno("detach boot device", BLOCKDEV_NODE_DIR, errno);
	failure_set_cleanup(NULL);

	/* overlay */
	if (mkdir_exist_ok(RW_MNT, 0755) < 0)
		fail_errno("mount overlay", RW_MNT, errno);
	if (do_mount("tmpfs", RW_MNT, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		fail_errno("mount overlay", RW_MNT, errno);
	if (mkdir_exist_ok(UPPER_DIR, 0755) < 0 || mkdir_exist_ok(WORK_SUB, 0755) < 0 ||
	    mkdir_exist_ok(ROOT_MNT, 0755) < 0)
		fail_errno("mount overlay", RW_MNT, errno);
	/* a merged directory shows the upper one's owner, mode and times: the
	 * root's must be the image's, as the original init would see them */
	if (copy_dir_attrs(LOWER_MNT, UPPER_DIR) < 0)
		fail_errno("mount overlay", UPPER_DIR, errno);
	snprintf(ovl_opts, sizeof ovl_opts, "lowerdir=%s,upperdir=%s,workdir=%s", lower, UPPER_DIR,
		 WORK_SUB);
	if (do_mount("overlay", ROOT_MNT, "overlay", 0, ovl_opts) < 0)
		fail_errno("mount overlay", ROOT_MNT, errno);
	failure_set_image_root(ROOT_MNT);
	/* the overlay holds private clones of its layers */
	/* a layer left mounted here would pin the loop device and /boot after the switch */
	if (umount2(LOWER_MNT, MNT_DETACH) < 0)
		fail_errno("detach overlay layers", LOWER_MNT, errno);
	sysext_release(SYSEXT_MNT);
	if (umount2(RW_MNT, MNT_DETACH) < 0)
		fail_errno("detach overlay layers", RW_MNT, errno);
	if (sx.stacked)
		log_info("overlay mounted on " ROOT_MNT " (%zu extension(s) in %zu layer(s) over the image)",
			 sx.stacked, sx.layers);
	else
		log_info("overlay mounted on " ROOT_MNT);

	/* what the boot loader appended (credentials, extensions, more initrds)
	 * into the new root as the kernel would have unpacked it there; before
	 * the shims, which then apply to that tree as to the image */
	t1 = now_ms();
	if (handover_appended(ROOT_MNT, WORK_DIR, &handover) < 0)
		fail("hand over appended files", handover.path, handover.reason);
	log_handover(&handover.st, now_ms() - t1);

	/* shims */
	if (install_shims(&cfg, ROOT_MNT, &rep) < 0)
		fail_errno("install switch-root shim", rep.path, rep.err);

	/* hand over */
	if (init_is_executable(ROOT_MNT, cfg.init) < 0)
		fail_errno("switch root", cfg.init, errno);
	if (move_api_mounts(ROOT_MNT, err, sizeof err) < 0)
		fail_errno("switch root", err, errno);
	if (chdir(ROOT_MNT) < 0)
		fail_errno("switch root", ROOT_MNT, errno);
	if (switch_by_move("the mini initramfs", &step) < 0)
		fail_errno("switch root", move_what[step], errno);
	failure_set_image_root(NULL);

	init_argv[0] = cfg.init;
	for (i = 1; i < argc; i++)
		init_argv[i] = argv[i];
	init_argv[argc > 0 ? argc : 1] = NULL;
	log_info("starting %s from the image (%llu ms)", cfg.init, now_ms() - t0);
	log_restore_devkmsg();
	execve(cfg.init, init_argv, environ);
	fail_errno("exec init", cfg.init, errno);
}

int main(int argc, char **argv)
{
	enum tool t = tool_from_argv0(argc > 0 ? argv[0] : NULL);

	if (t != TOOL_STORAGE_INIT)
		return shim_main(t, argc, argv);
	if (getpid() != 1)
		return tool_mode(argc, argv);
	return storage_init(argc, argv);
}
