import { statSync } from "node:fs";
import tls from "node:tls";
import { ServerCredentials } from "@grpc/grpc-js";
import type { SecureContextOptions } from "node:tls";
import { PeriodicTask } from "../engine/periodic-task.js";
import type { Service } from "../engine/service.js";
import type { Logger } from "../observability/logger.js";
import { readTlsMaterial, type TlsMaterial } from "./tls-material.js";

/** The files of `TLS_CERT_FILE`, `TLS_KEY_FILE` and `TLS_CLIENT_CA_FILE` ("" for none). */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  clientCaFile: string;
}

/** Told of each new, valid material. */
export type TlsListener = (material: TlsMaterial) => void;

/** Something that announces new TLS material (the gateway's terminator subscribes). */
export interface TlsUpdates {
  /** Calls `listener` with each new material from now on. */
  subscribe(listener: TlsListener): void;
}

/** The secure-context options of `material` (node:tls). */
export function secureContextOptions(material: TlsMaterial): SecureContextOptions {
  return { cert: material.cert, key: material.key, ...(material.clientCa && { ca: material.clientCa }) };
}

/**
 * grpc-js server credentials whose certificate can be swapped while the server runs: grpc-js
 * watches credentials and calls `setSecureContext` on its TLS server for each update, so new
 * connections get the new certificate and open ones carry on.
 */
export class ReloadableServerCredentials extends ServerCredentials {
  constructor(material: TlsMaterial) {
    const mutual = material.clientCa !== undefined;
    super({ requestCert: mutual, rejectUnauthorized: mutual }, secureContextOptions(material));
  }

  /** Serves `material` to new connections. */
  update(material: TlsMaterial): void {
    this.updateSecureContextOptions(secureContextOptions(material));
  }

  override _equals(other: ServerCredentials): boolean {
    return this === other;
  }
}

/** Options of {@link TlsReloader}. */
export interface TlsReloaderOptions {
  /** The files to watch. */
  files: TlsFiles;
  /** The material read at start. */
  material: TlsMaterial;
  /** How often the files are checked (a `stat` each), ms. */
  intervalMs: number;
  /** Where reloads and refused files are logged. */
  logger: Logger;
}

/**
 * Reloads the certificate, key and client CA when their files change (checked with a cheap
 * `stat` every `intervalMs`: size, modification time and inode, which also catches a symlink
 * swapped by Kubernetes or cert-manager). New material is checked with
 * `tls.createSecureContext` before it is used: a key that does not match its certificate
 * (e.g. one file written, the other not yet) is logged and the old material stays in force
 * until the files change again. Subscribers (the gRPC credentials and the gateway's TLS
 * terminator) serve it to new connections; open connections are not touched.
 */
export class TlsReloader implements Service, TlsUpdates {
  readonly credentials: ReloadableServerCredentials;
  private readonly listeners: TlsListener[] = [];
  private readonly task: PeriodicTask;
  private signature: string;

  constructor(private readonly options: TlsReloaderOptions) {
    this.credentials = new ReloadableServerCredentials(options.material);
    this.listeners.push((material) => this.credentials.update(material));
    this.signature = this.fileSignature();
    this.task = new PeriodicTask({ name: "tls reload", intervalMs: options.intervalMs, logger: options.logger, run: async () => {
        this.check();
      },
    });
  }

  subscribe(listener: TlsListener): void {
    this.listeners.push(listener);
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  /** Reloads when the files changed since the last check; true when new material is in force. */
  check(): boolean {
    const signature = this.fileSignature();
    if (signature === this.signature) return false;
    this.signature = signature;
    let material: TlsMaterial;
    try {
      material = readTlsMaterial(this.options.files)!;
      tls.createSecureContext(secureContextOptions(material));
    } catch (error) {
      this.options.logger.warn({ err: error, files: this.options.files }, "TLS files changed but cannot be used: the previous certificate stays in force");
      return false;
    }
    for (const listener of this.listeners) listener(material);
    this.options.logger.info({ files: this.options.files }, "TLS certificate reloaded: new connections use it");
    return true;
  }

  private fileSignature(): string {
    const { certFile, keyFile, clientCaFile } = this.options.files;
    return [certFile, keyFile, clientCaFile]
      .map((file) => {
        if (file === "") return "-";
        try {
          const s = statSync(file);
          return `${s.ino}:${s.size}:${s.mtimeMs}`;
        } catch {
          return "missing";
        }
      })
      .join("|");
  }
}
