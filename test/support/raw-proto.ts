import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { credentials, makeGenericClientConstructor, type Client, type ServiceError } from "@grpc/grpc-js";
import { TaskService } from "../../gen/taskqueue/v1/task_service_pb.js";
import { grpcServiceDefinition } from "../../server/transport/grpc-service-definition.js";

/**
 * Hand-built protobuf bytes and a gRPC client that sends them as they are: for requests a
 * well-behaved client library cannot produce (invalid UTF-8, nesting too deep for its
 * encoder, garbage).
 */

/** The bytes of `message` (an init shape of `schema`). */
export function encode<Desc extends DescMessage>(schema: Desc, message: MessageInitShape<Desc>): Uint8Array {
  return toBinary(schema, create(schema, message));
}

/** One length-delimited field: tag, length, then `bytes` as they are (no UTF-8 encoding). */
export function lengthDelimited(field: number, bytes: Uint8Array): Uint8Array {
  return new BinaryWriter().tag(field, WireType.LengthDelimited).bytes(bytes).finish();
}

/** The parts one after the other (protobuf merges them; a repeated scalar field's last value wins). */
export function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

/**
 * A `google.protobuf.Value` holding `depth` nested lists around the number 1 (`[[[1]]]` for
 * 3), built from the inside out without recursion.
 */
export function nestedListValue(depth: number): Uint8Array {
  let value = encode(ValueSchema, { kind: { case: "numberValue", value: 1 } });
  for (let i = 0; i < depth; i++) value = lengthDelimited(6, lengthDelimited(1, value));
  return value;
}

/** The same nesting as JSON text. */
export function nestedListJson(depth: number): string {
  return `${"[".repeat(depth)}1${"]".repeat(depth)}`;
}

/** A TaskService client over grpc-js whose unary calls send request bytes unchanged. */
export class RawTaskClient {
  private readonly client: Client & Record<string, (...args: unknown[]) => unknown>;

  constructor(address: string) {
    const definition = grpcServiceDefinition(TaskService);
    const raw = Object.fromEntries(
      Object.entries(definition).map(([name, method]) => [name, { ...method, requestSerialize: (bytes: Uint8Array) => Buffer.from(bytes) }]),
    );
    const Ctor = makeGenericClientConstructor(raw, "RawTaskService");
    this.client = new Ctor(address, credentials.createInsecure()) as unknown as Client & Record<string, (...args: unknown[]) => unknown>;
  }

  /** Calls `method` (e.g. "SubmitTask") with `bytes`; resolves with the decoded response. */
  call<T>(method: string, bytes: Uint8Array): Promise<T> {
    return new Promise((resolve, reject) => {
      this.client[method]!(bytes, (error: ServiceError | null, response: T) => (error ? reject(error) : resolve(response)));
    });
  }

  /** Closes the channel. */
  close(): void {
    this.client.close();
  }
}
