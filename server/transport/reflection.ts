import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import type { Server } from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";

/** Default path of the buf image (`gen/image.binpb`), which feeds reflection. */
export const defaultImagePath = fileURLToPath(new URL("../../gen/image.binpb", import.meta.url));

/** Typed error for a descriptor image that cannot be read or decoded. */
export class DescriptorImageError extends Error {
  /** Creates the error; `cause` is the underlying failure. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DescriptorImageError";
  }
}

/** The package definition shape `ReflectionService` takes. */
export type ReflectionPackage = ConstructorParameters<typeof ReflectionService>[0];

/** Options for {@link addReflection}. */
export interface ReflectionOptions {
  /**
   * Encoded `FileDescriptorProto`s of every file the services use, imports included, as
   * {@link readDescriptorImage} returns them. Source info in them (comments) is served.
   */
  readonly files: readonly Uint8Array[];
  /** Fully qualified names of the services to list, e.g. `taskqueue.v1.TaskService`. */
  readonly services: readonly string[];
}

/**
 * Reads a buf image (`buf build -o gen/image.binpb`: a `FileDescriptorSet` with source
 * info) and returns each file's encoded `FileDescriptorProto`.
 */
export async function readDescriptorImage(path: string): Promise<Uint8Array[]> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new DescriptorImageError(`cannot read descriptor image ${path}`, { cause: error });
  }
  try {
    const set = fromBinary(FileDescriptorSetSchema, bytes);
    return set.file.map((file) => toBinary(FileDescriptorProtoSchema, file));
  } catch (error) {
    throw new DescriptorImageError(`descriptor image ${path} is not a FileDescriptorSet`, { cause: error });
  }
}

/**
 * Adds gRPC server reflection, both `grpc.reflection.v1` and `grpc.reflection.v1alpha`,
 * to a grpc-js server, answering from the given file descriptors, so tools such as
 * grpcurl work without proto files and show the proto comments.
 */
export function addReflection(server: Pick<Server, "addService">, options: ReflectionOptions): void {
  new ReflectionService(reflectionPackage(options.files), { services: [...options.services] }).addToServer(server);
}

/** The file descriptors as the package definition @grpc/reflection reads. */
export function reflectionPackage(files: readonly Uint8Array[]): ReflectionPackage {
  const fileDescriptorProtos = files.map((file) => Buffer.from(file.buffer, file.byteOffset, file.byteLength));
  // The library reads only `fileDescriptorProtos` of each entry and indexes every file
  // once by name; one entry carrying all files is enough.
  return {
    descriptors: { format: "Protocol Buffer 3 FileDescriptorProto", type: {}, fileDescriptorProtos },
  } as unknown as ReflectionPackage;
}
