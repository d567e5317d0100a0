import { Command } from "commander";
import { bytes } from "../format.js";

export function ukiCommand(): Command {
  return new Command("uki")
    .description("write a Unified Kernel Image (systemd-stub + kernel + initrd + command line + os-release) for the firmware or a boot loader to start")
    .requiredOption("--kernel <file>", "the kernel (an x86 bzImage, e.g. /boot/vmlinuz-KVER)")
    .requiredOption("--initrd <file>", "the initramfs to embed (the mini initramfs of `build`)")
    .requiredOption("--cmdline <text>", "the kernel command line (e.g. \"root=UUID=... ro quiet\")")
    .requiredOption("-o, --output <file>", "the UKI to write (e.g. EFI/BOOT/BOOTX64.EFI or EFI/Linux/NAME.efi on the ESP)")
    .option("--stub <file>", "systemd-stub (default /usr/lib/systemd/boot/efi/linuxx64.efi.stub, Debian's systemd-boot-efi)")
    .option("--os-release <file>", "os-release for the .osrel section (default /etc/os-release, else /usr/lib/os-release)")
    .option("--uname <version>", "the .uname section (default: the kernel's own version string)")
    .option("--no-uname", "leave out the .uname section")
    .option("--json", "print the result as JSON")
    .action(async (o) => {
      const { writeUki } = await import("../../pipeline/uki.js");
      const r = writeUki({
        stub: o.stub, kernel: o.kernel, initrd: o.initrd, cmdline: o.cmdline, osRelease: o.osRelease,
        uname: o.uname === false ? null : typeof o.uname === "string" ? o.uname : undefined, output: o.output,
      });
      if (o.json) {
        process.stdout.write(JSON.stringify(r, null, 2) + "\n");
        return;
      }
      const list = r.sections.map((s) => `${s.name} ${bytes(s.virtualSize)} at 0x${s.virtualAddress.toString(16)}`).join(", ");
      process.stdout.write(`${r.path}: UKI of ${bytes(r.bytes)} from ${r.stub}: ${list}\n`);
    });
}
