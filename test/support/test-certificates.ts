import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Certificates made by openssl in a temp folder: a CA (`ca.pem`), and certificates it signed. */
export interface TestCertificates {
  /** The folder. */
  readonly dir: string;
  /** Path of a file in the folder. */
  file(name: string): string;
  /** Contents of a file in the folder. */
  pem(name: string): Buffer;
  /**
   * Makes `<name>.pem`/`<name>.key` (EC P-256) signed by the CA `ca` (default "ca"), for
   * 127.0.0.1/localhost when `server` is true; `cn` is the subject's common name.
   */
  issue(name: string, options?: { server?: boolean; cn?: string; ca?: string }): void;
  /** Makes another self-signed CA `<name>.pem`/`<name>.key`. */
  makeCa(name: string): void;
  /** Deletes the folder. */
  remove(): void;
}

/** A CA, a server certificate for 127.0.0.1 (`server`) and a client certificate (`client`). */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "tq-tls-"));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  writeFileSync(file("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  const certs: TestCertificates = {
    dir,
    file,
    pem: (name) => readFileSync(file(name)),
    makeCa(name) {
      openssl("req", "-x509", ...ec, "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "2", "-subj", `/CN=${name}`);
    },
    issue(name, options = {}) {
      const ca = options.ca ?? "ca";
      openssl("req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${options.cn ?? name}`);
      const ext = options.server ? ["-extfile", "server.ext"] : [];
      openssl("x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-out", `${name}.pem`, "-days", "2", ...ext);
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
  certs.makeCa("ca");
  certs.issue("server", { server: true, cn: "127.0.0.1" });
  certs.issue("client", { cn: "test-client" });
  return certs;
}
