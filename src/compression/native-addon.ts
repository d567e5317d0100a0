/**
 * Loads one of our N-API addons (binding.gyp targets). Two places, in this order:
 *   build/Release/NAME.node             a source build (`npm run build`, or `npm run build:native`
 *                                       in the installed package): only there if someone built it,
 *                                       and then it is newer than what shipped;
 *   prebuilds/PLATFORM-ARCH/NAME.node   shipped in the npm package (scripts/prebuild.mjs:
 *                                       linux-x64, linux-arm64; liblz4/libzstd linked in, glibc only).
 */
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { InitoverlayfsError } from "../errors.js";

/** package root: dist/src/compression → ../../.. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export function addonCandidates(name: string): string[] {
  return [join(ROOT, "build", "Release", `${name}.node`), join(ROOT, "prebuilds", `${process.platform}-${process.arch}`, `${name}.node`)];
}

const loaded = new Map<string, { addon: unknown; path: string }>();

/** `name`: the target name; `needs`: the -dev package it links, for the message when it is missing. */
export function loadAddon<T>(name: string, needs: string): T {
  let a = loaded.get(name);
  if (!a) {
    const tried: string[] = [];
    for (const path of addonCandidates(name)) {
      if (!existsSync(path)) continue;
      try {
        a = { addon: createRequire(import.meta.url)(path), path };
        break;
      } catch (e) {
        // e.g. a glibc prebuilt on a musl system: say why, try the next
        tried.push(`${path}: ${(e as Error).message.split("\n")[0]}`);
      }
    }
    if (!a) {
      const why = tried.length ? tried.join("; ") : `neither ${addonCandidates(name).join(" nor ")} exists`;
      throw new InitoverlayfsError(
        `the ${name} addon cannot be loaded (${why}): no prebuilt one for ${process.platform}-${process.arch} works here; ` +
          `build it from source with npm run build:native in ${ROOT} (needs build-essential, python3, ${needs})`,
      );
    }
    loaded.set(name, a);
  }
  return a.addon as T;
}

/** which file loadAddon loaded `name` from (undefined before it is loaded): for diagnostics and the packaging test */
export function loadedAddonPath(name: string): string | undefined {
  return loaded.get(name)?.path;
}
