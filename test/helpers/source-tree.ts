/**
 * Builds a nasty source directory on disk for EROFS / dir-reader / extract tests: every node kind,
 * odd names (255 bytes, bytes >= 0x80, around "."), a 3000-entry directory, 100 levels of nesting,
 * long symlinks, hard links, special bits, big uids, nanosecond mtimes and xattrs.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { prng } from "./prng.js";
import { isRoot, run } from "./run.js";

export interface SourceTreeOptions {
  /** entries in the big directory (default 3000) */
  bigDirEntries?: number;
  /** nesting depth (default 100) */
  depth?: number;
  /** create device nodes (default: when root) */
  devices?: boolean;
  /** set xattrs (default true) */
  xattrs?: boolean;
  /** create a socket (default true) */
  socket?: boolean;
  /** longest name to create (default 255; mkfs.erofs 1.5 fails on 255-byte names, use 254 for it) */
  maxNameLen?: number;
}

function randomBytes(rnd: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (rnd() * 256) | 0;
  return b;
}

const q = (s: Buffer) => Buffer.concat([Buffer.from("'"), Buffer.from(s.toString("latin1").replace(/'/g, "'\\''"), "latin1"), Buffer.from("'")]);

/** Creates the tree in `dir` (which must exist and be empty). Returns nothing; read it back with readDirTree. */
export function buildSourceTree(dir: string, opts: SourceTreeOptions = {}): void {
  const rnd = prng(12345);
  const root = Buffer.from(path.resolve(dir));
  const p = (...parts: Array<string | Buffer>) =>
    Buffer.concat([root, ...parts.flatMap((x) => [Buffer.from("/"), typeof x === "string" ? Buffer.from(x) : x])]);
  const times: Array<[Buffer, string]> = []; // relative path, touch -d argument

  // regular files
  fs.mkdirSync(p("files"));
  for (const size of [0, 1, 4095, 4096, 4097, 100000]) fs.writeFileSync(p("files", `f${size}`), randomBytes(rnd, size));
  fs.writeFileSync(p("files", "zeros8192"), Buffer.alloc(8192));
  fs.writeFileSync(p("files", "text"), "hello erofs\n");
  times.push([Buffer.from("files/f1"), "@1700000000.123456789"]);
  times.push([Buffer.from("files/f4097"), "@1600000000.000000001"]);
  times.push([Buffer.from("files/f100000"), "@946684800.999999999"]);
  times.push([Buffer.from("files/text"), "@1000000000"]);

  // names
  fs.mkdirSync(p("names"));
  const odd = ["-x", ".a", "..a", "a.", "...", " space", "tab\there", "new\nline", "back\\slash", "quote'\"", "=eq"];
  for (const n of odd) fs.writeFileSync(p("names", n), n);
  const maxName = opts.maxNameLen ?? 255;
  fs.writeFileSync(p("names", "L".repeat(maxName)), "long name");
  fs.mkdirSync(p("names", "D".repeat(maxName)));
  fs.mkdirSync(p("n255"));
  fs.writeFileSync(p("n255", "L".repeat(maxName)), "alone");
  fs.writeFileSync(p("names", Buffer.from([0x6e, 0xff, 0x80, 0xc3])), "high bytes");
  fs.writeFileSync(p("names", Buffer.from("ünïcödé")), "utf8");
  fs.writeFileSync(p("names", Buffer.from([0xff])), "0xff");

  // big directory
  const nBig = opts.bigDirEntries ?? 3000;
  fs.mkdirSync(p("big"));
  for (let i = 0; i < nBig; i++) {
    const name = `entry-${String(i).padStart(5, "0")}-${"x".repeat(i % 40)}`;
    if (i % 500 === 0) fs.mkdirSync(p("big", name));
    else fs.writeFileSync(p("big", name), i % 7 === 0 ? `content ${i}` : "");
  }

  // deep nesting
  const depth = opts.depth ?? 100;
  const deep: Buffer[] = [];
  let rel = "deep";
  for (let i = 0; i < depth; i++) {
    deep.push(Buffer.from(rel));
    rel += `/d${i}`;
  }
  fs.mkdirSync(p(rel), { recursive: true });
  fs.writeFileSync(p(rel, "bottom"), "deep file");
  fs.symlinkSync("../".repeat(depth - 1) + "files/text", p(rel, "up"));

  // symlinks
  fs.mkdirSync(p("links"));
  fs.symlinkSync("../files/text", p("links", "short"));
  fs.symlinkSync("a".repeat(3000), p("links", "long"));
  fs.symlinkSync("dangling/target", p("links", "dangling"));
  fs.symlinkSync(Buffer.from([0x74, 0xfe, 0x74]), p("links", "highbyte"));
  fs.symlinkSync("x".repeat(4095), p("links", "max"));
  times.push([Buffer.from("links/short"), "@1500000000.5"]);

  // hard links
  fs.mkdirSync(p("hard"));
  fs.writeFileSync(p("hard", "one"), "linked content\n");
  fs.linkSync(p("hard", "one"), p("hard", "two"));
  fs.linkSync(p("hard", "one"), p("files", "three-link"));
  fs.writeFileSync(p("hard", "big"), randomBytes(rnd, 10000));
  fs.linkSync(p("hard", "big"), p("hard", "big2"));
  fs.symlinkSync("one", p("hard", "sym"));
  fs.linkSync(p("hard", "sym"), p("hard", "sym2"));

  // special files
  fs.mkdirSync(p("special"));
  let script = "set -e\n";
  script += `mkfifo special/fifo\n`;
  if (opts.devices ?? true) {
    script += `mknod special/null c 1 3\nmknod special/blk b 8 1\nmknod special/bigdev c 511 1048575\nmknod special/blk2 b 259 300\n`;
    script += `ln special/null special/null-link\n`;
  }
  run("sh", ["-s"], { input: script, cwd: dir });
  if (opts.socket ?? true) {
    const js =
      `const s=require("net").createServer();s.on("error",e=>{console.error(e.message);process.exit(1)});` +
      `s.listen("special/sock",()=>process.exit(0))`;
    run(process.execPath, ["-e", js], { cwd: dir });
  }

  // permissions and owners
  fs.mkdirSync(p("perms"));
  const perms: Array<[string, number]> = [
    ["setuid", 0o4755], ["setgid", 0o2711], ["both", 0o6555], ["none", 0o000], ["all", 0o7777], ["ro", 0o444],
  ];
  for (const [n, m] of perms) {
    fs.writeFileSync(p("perms", n), n);
  }
  fs.mkdirSync(p("perms", "sticky"));
  fs.mkdirSync(p("perms", "sgid-dir"));
  const owners: Array<[string, number, number]> = [
    ["setuid", 0, 0], ["setgid", 1000, 1000], ["both", 65534, 65534], ["none", 65535, 65536],
    ["all", 100000, 4000000000], ["ro", 12345, 0],
  ];
  if (!isRoot()) throw new Error("the source tree needs root: owners and device nodes");
  {
    for (const [n, u, g] of owners) fs.lchownSync(p("perms", n), u, g);
    fs.lchownSync(p("links", "short"), 70000, 80000);
    fs.lchownSync(p("perms", "sticky"), 1, 2);
  }
  for (const [n, m] of perms) fs.chmodSync(p("perms", n), m);
  fs.chmodSync(p("perms", "sticky"), 0o1777);
  fs.chmodSync(p("perms", "sgid-dir"), 0o2750);
  fs.chmodSync(p("files", "f0"), 0o600);

  // xattrs (one setfattr run)
  if (opts.xattrs ?? true) {
    const lines: Buffer[] = [];
    const add = (relPath: Buffer, attrs: Array<[string, string]>) => {
      let rp = "";
      for (const c of Buffer.concat([root, Buffer.from("/"), relPath])) {
        rp += c < 0x21 || c > 0x7e || c === 0x5c ? "\\" + c.toString(8).padStart(3, "0") : String.fromCharCode(c);
      }
      lines.push(Buffer.from(`# file: ${rp}\n` + attrs.map(([n, v]) => `${n}=${v}\n`).join("") + "\n"));
    };
    add(Buffer.from("files/f1"), [["user.one", "0x31"], ["user.empty", "0x"], ["trusted.t", "0x00ff00"]]);
    add(Buffer.from("files/f4097"), [["security.s", "0x736563"], ["user.big", "0x" + "ab".repeat(1000)]]);
    add(Buffer.from("files"), [["user.dir", "0x6469"]]);
    add(Buffer.from("links/short"), [["trusted.onlink", "0x01"]]);
    add(Buffer.from("special/fifo"), [["trusted.fifo", "0x0102"]]);
    add(Buffer.from("names/" + "L".repeat(maxName)), [["user.shared", "0x736861726564"]]);
    for (const n of ["hard/one", "files/f0", "files/f4096", "files/text", "perms/setuid"]) {
      add(Buffer.from(n), [["user.shared", "0x736861726564"], ["trusted.shared2", "0x02"]]);
    }
    add(Buffer.concat([Buffer.from("names/"), Buffer.from([0x6e, 0xff, 0x80, 0xc3])]), [["user.x", "0x78"]]);
    add(Buffer.from("deep/d0"), [["user." + "n".repeat(200), "0x" + "00".repeat(300)]]);
    const file = path.join(dir, "..", `xattrs-${path.basename(dir)}`);
    fs.writeFileSync(file, Buffer.concat(lines));
    try {
      run("setfattr", ["-h", `--restore=${file}`]);
    } finally {
      fs.rmSync(file, { force: true });
    }
  }

  // mtimes last (creating entries changes the parents' mtimes); everything else gets a fixed time
  // with nanoseconds so comparisons are deterministic
  let t = Buffer.from("set -e\n");
  t = Buffer.concat([t, Buffer.from(`find . -exec touch -h -d @1650000000.250000000 {} +\n`)]);
  for (const d of deep) t = Buffer.concat([t, Buffer.from("touch -h -d @1234567890.987654321 "), q(d), Buffer.from("\n")]);
  for (const [rp, time] of times) t = Buffer.concat([t, Buffer.from(`touch -h -d ${time} -- `), q(rp), Buffer.from("\n")]);
  t = Buffer.concat([t, Buffer.from(`touch -h -d @1650000000.250000000 .\n`)]);
  run("sh", ["-s"], { input: t, cwd: dir });
}
