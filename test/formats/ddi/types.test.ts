/** The one table of partition types against systemd's own (`systemd-id128 show`, systemd 252: its src/shared/gpt.c). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DDI_ARCHES, DDI_KINDS, DDI_PARTITION_TYPES, ddiTypeName, planDdi } from "../../../src/formats/ddi/index.js";
import { run } from "../../helpers/run.js";

test("every type GUID of the table is the one systemd-id128 show prints under the spec's name", () => {
  const known = new Map<string, string>();
  for (const line of run("systemd-id128", ["show"]).stdout.split("\n")) {
    const m = /^(\S+)\s+([0-9a-f]{32})$/.exec(line.trim());
    if (m) known.set(m[1], m[2]);
  }
  let n = 0;
  for (const arch of DDI_ARCHES) {
    for (const kind of DDI_KINDS) {
      for (const role of ["root", "verity", "signature"] as const) {
        const name = ddiTypeName(kind, arch, role);
        assert.equal(DDI_PARTITION_TYPES[arch][kind][role].replace(/-/g, ""), known.get(name), name);
        n++;
      }
    }
  }
  assert.equal(n, 30, "x86-64, arm64, arm, riscv64, x86: root and usr, each with verity and verity-sig");
  assert.deepEqual([...DDI_ARCHES].sort(), ["arm", "arm64", "riscv64", "x86", "x86-64"]);
});

test("planDdi takes the architecture's types and labels; an unknown one is refused", () => {
  const t = planDdi({ arch: "arm64", rootHash: new Uint8Array(32).fill(7), dataSize: 4096, hashSize: 4096, signatureSize: 4096 });
  assert.deepEqual(t.partitions.map((p) => [p.type, p.name]), [
    [DDI_PARTITION_TYPES.arm64.root.root, "root-arm64"], [DDI_PARTITION_TYPES.arm64.root.verity, "root-arm64-verity"], [DDI_PARTITION_TYPES.arm64.root.signature, "root-arm64-verity-sig"],
  ]);
  const u = planDdi({ arch: "riscv64", kind: "usr", rootHash: new Uint8Array(32), dataSize: 4096, hashSize: 4096 });
  assert.deepEqual(u.partitions.map((p) => p.name), ["usr-riscv64", "usr-riscv64-verity"]);
  assert.throws(() => planDdi({ arch: "mips64" as "x86", rootHash: new Uint8Array(32), dataSize: 4096, hashSize: 4096 }), /expected one of x86-64, arm64, arm, riscv64, x86, got "mips64"/);
});
