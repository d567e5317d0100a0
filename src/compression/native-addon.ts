/** Loads one of our N-API addons (binding.gyp targets, built by `npm run build` into build/Release). */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { InitoverlayfsError } from "../errors.js";

/** package root: dist/src/compression → ../../.. */
const RELEASE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "build", "Release");

const loaded = new Map<string, unknown>();

/** `name`: the target name; `needs`: the -dev package it links, for the message when it is missing. */
export function loadAddon<T>(name: string, needs: string): T {
  let a = loaded.get(name);
  if (!a) {
    const path = join(RELEASE_DIR, `${name}.node`);
    try {
      a = createRequire(import.meta.url)(path);
    } catch (e) {
      throw new InitoverlayfsError(`the ${name} addon is not built (${path}): run npm run build (needs ${needs}): ${(e as Error).message.split("\n")[0]}`);
    }
    loaded.set(name, a);
  }
  return a as T;
}
