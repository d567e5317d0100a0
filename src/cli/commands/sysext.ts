import { Command } from "commander";
import { UsageError } from "../../errors.js";
import { SYSEXT_SCOPES, SysextScope } from "../../formats/sysext/index.js";
import { bytes } from "../format.js";
import { DDI_ARCHES, DDI_KINDS } from "../../formats/ddi/ddi.js";
import { oneOf, parseTimestamp } from "../options.js";

export function sysextCommand(): Command {
  return new Command("sysext")
    .description("build a system extension image (a DDI with root, root-verity and, with --key, root-verity-sig partitions) of DIR's /usr and /opt, for systemd-sysext or, with --scope initrd, for storage-init")
    .argument("<dir>", "the tree to ship: only usr/ and opt/ at its top")
    .requiredOption("-o, --output <NAME.raw>", "the image to write; NAME names usr/lib/extension-release.d/extension-release.NAME")
    .option("--id <id>", "ID= the os-release ID of the OS it extends, or _any (required)")
    .option("--version-id <v>", "VERSION_ID= the OS version it is for")
    .option("--sysext-level <l>", "SYSEXT_LEVEL= the OS's extension level it is for (instead of --version-id)")
    .option("--scope <scopes>", `SYSEXT_SCOPE=: ${SYSEXT_SCOPES.join(", ")}, comma- or space-separated (default: not written; the spec then means "system portable")`)
    .option("--arch <arch>", `ARCHITECTURE= and the partition types: ${DDI_ARCHES.join(", ")} (default: x86-64's types, no ARCHITECTURE=)`)
    .option("--partition <kind>", "root (default): a root partition holding usr/ and opt/, what storage-init stacks; usr: a usr partition holding /usr itself, for systemd-sysext only (storage-init skips it)", "root")
    .option("--key <pem>", "sign the root hash with this key (usr-verity-sig partition)")
    .option("--cert <pem>", "the certificate of --key")
    .option("--timestamp <epoch>", "fixed mtime for every inode (default: $SOURCE_DATE_EPOCH if set)")
    .option("--json", "print the result as JSON")
    .action(async (dir: string, o) => {
      const { buildSysext } = await import("../../pipeline/sysext.js");
      if (o.id === undefined) throw new UsageError("--id: required (the os-release ID the extension is for, or _any)");
      const r = await buildSysext({
        dir, output: o.output, id: o.id, versionId: o.versionId, sysextLevel: o.sysextLevel, architecture: o.arch,
        scope: o.scope === undefined ? undefined : (String(o.scope).split(/[\s,]+/).filter(Boolean) as SysextScope[]),
        partition: oneOf("--partition", o.partition, DDI_KINDS), key: o.key, cert: o.cert, timestamp: o.timestamp !== undefined ? parseTimestamp(o.timestamp) : undefined,
      });
      if (o.json) {
        process.stdout.write(JSON.stringify(r, null, 2) + "\n");
        return;
      }
      process.stdout.write(`${r.output}: system extension ${r.name} (${r.partition} partition), ${bytes(r.bytes)}, root hash ${r.rootHash}${r.signed ? " (signed)" : ""}\n${r.release}`);
    });
}
