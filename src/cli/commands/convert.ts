import { Command } from "commander";
import { UsageError } from "../../errors.js";
import { DEFAULT_MAX_UNPACKED } from "../../initramfs/limits.js";
import { bytes } from "../format.js";
import { progress } from "../progress.js";
import { parseSize, parseTimestamp, parseUuid } from "../options.js";
import { addCompressionOptions, compressionFromOptions } from "../compression-options.js";

export function convertCommand(): Command {
  return addCompressionOptions(new Command("convert"), "none")
    .description("convert an initramfs file (any compression) or a directory into an EROFS image (uncompressed unless -z)")
    .argument("<input>", "initramfs file or directory")
    .requiredOption("-o, --output <image>", "EROFS image to write (written to a temp file, then renamed)")
    .option("--uuid <uuid>", "filesystem UUID (default: derived from the content, reproducible)")
    .option("--label <name>", "volume label (at most 15 bytes)")
    .option("--timestamp <epoch>", "fixed timestamp for every inode, like mkfs.erofs -T (default: $SOURCE_DATE_EPOCH if set)")
    .option("--mkfs-time", "apply --timestamp to the superblock build time only, keep file mtimes")
    .option("--no-inline", "do not pack file tails into metadata blocks (FLAT_PLAIN only)")
    .option("--xattr-share <n>", "share an xattr used by at least n inodes (0: never)", "2")
    .option("--xattrs", "read xattrs when the input is a directory")
    .option("--strict", "reject cpio entries the kernel would drop instead of warning")
    .option("--max-unpacked <size>", `refuse an initramfs that unpacks to more than this (default ${DEFAULT_MAX_UNPACKED / 2 ** 30}G): a small compressed bomb must not exhaust memory`)
    .option("--json", "print the summary as JSON")
    .action(async (input: string, o) => {
      const share = Number(o.xattrShare);
      if (!Number.isInteger(share) || share < 0) throw new UsageError(`--xattr-share: expected a non-negative integer, got ${o.xattrShare}`);
      const uuid = o.uuid ? parseUuid(o.uuid) : undefined;
      const compression = await compressionFromOptions(o);
      const timestamp = o.timestamp !== undefined ? parseTimestamp(o.timestamp) : undefined;
      // the compression workers boot (~150 ms each) while the rest loads and the input is read
      const { withCompressor } = await import("../../pipeline/compress-tree.js");
      const r = await withCompressor(compression, async (compressor) => {
        const p = progress(`reading ${input}`);
        try {
          const { convert, timestampFromEnv } = await import("../../pipeline/convert.js");
          return await convert({
            input, output: o.output, uuid, label: o.label,
            timestamp: timestamp ?? timestampFromEnv(), timestampMode: o.mkfsTime ? "build" : "all", inlineData: o.inline,
            xattrShareThreshold: share, strict: !!o.strict, maxUnpackedBytes: o.maxUnpacked !== undefined ? parseSize("--max-unpacked", o.maxUnpacked) : undefined, xattrs: !!o.xattrs, compressor,
            onProgress: (d, t) => p.update(d, t),
          });
        } finally {
          p.done();
        }
      });
      for (const w of r.warnings) process.stderr.write(`initoverlayfs: warning: ${w.source}: offset ${w.offset}: ${w.message}\n`);
      if (o.json) {
        process.stdout.write(JSON.stringify(r, null, 2) + "\n");
      } else {
        const s = r.stats;
        process.stdout.write(
          `${r.output}: ${s.files} files, ${s.dirs} dirs, ${s.symlinks} symlinks, ${s.others} special; ` +
          `${bytes(s.bytes)} of data → image ${bytes(r.imageBytes)} in ${r.seconds.toFixed(2)} s\n`,
        );
      }
    });
}
