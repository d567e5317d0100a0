import test from "node:test";
import { crashTest } from "./crash.js";

test("crash safety on a vfat /boot: install, reinstall after update-initramfs, uninstall, each killed at every step", () => crashTest("vfat"));
