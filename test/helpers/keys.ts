/** Test signing keys, made by openssl in a temp directory for each run (never committed). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "./run.js";

export interface TestKey {
  keyFile: string;
  certFile: string;
  key: string;
  cert: string;
}

/** A self-signed certificate and its key; `kind` "rsa" (2048 bits) or "ec" (P-256). */
export function makeTestKey(dir: string, name = "signer", kind: "rsa" | "ec" = "rsa"): TestKey {
  const keyFile = join(dir, `${name}.key.pem`);
  const certFile = join(dir, `${name}.cert.pem`);
  if (kind === "rsa") run("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", keyFile]);
  else run("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", keyFile]);
  run("openssl", ["req", "-x509", "-new", "-key", keyFile, "-out", certFile, "-days", "2", "-subj", `/CN=initoverlayfs test ${name}`]);
  return { keyFile, certFile, key: readFileSync(keyFile, "utf8"), cert: readFileSync(certFile, "utf8") };
}
