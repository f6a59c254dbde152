import { clone, createFileRegistry, type DescFile, type DescService } from "@bufbuild/protobuf";
import { FieldDescriptorProto_Type, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";

/**
 * Which fields to declare as bytes: message name (within the file's package) to the proto
 * names of its fields, or `"all"` for every field of the message.
 */
export type BytesFields = Readonly<Record<string, readonly string[] | "all">>;

/**
 * The service `serviceName` of `file` with the message fields named in `asBytes` declared as
 * `bytes`: the same service, methods and wire format (a message field and a bytes field are
 * both length-delimited), so an RPC client passes those fields through as encoded bytes, which
 * a hand-written codec then encodes or decodes instead of reflection. Binary formats only: in
 * JSON, bytes are base64 strings, not objects. The worker SDK uses it for the stream's oneof
 * members, the TypeScript client for the tasks and results of a batch submit. Throws when a
 * named message, field or the service is missing from the file.
 */
export function bytesFieldsService(file: DescFile, serviceName: string, asBytes: BytesFields): DescService {
  const proto = clone(FileDescriptorProtoSchema, file.proto);
  const pkg = proto.package;
  for (const [messageName, fieldNames] of Object.entries(asBytes)) {
    const message = proto.messageType.find((m) => m.name === messageName);
    if (!message) throw new Error(`${pkg}.${messageName} missing from its own file`);
    const fields = fieldNames === "all" ? message.field : fieldNames.map((name) => message.field.find((f) => f.name === name));
    fields.forEach((field, i) => {
      if (!field) throw new Error(`${pkg}.${messageName}.${fieldNames[i]} missing from its own file`);
      field.type = FieldDescriptorProto_Type.BYTES;
      field.typeName = "";
    });
  }
  const dependencies = new Map<string, DescFile>(file.dependencies.map((dep) => [dep.proto.name, dep]));
  const registry = createFileRegistry(proto, (name) => dependencies.get(name));
  const service = registry.getService(`${pkg}.${serviceName}`);
  if (!service) throw new Error(`${pkg}.${serviceName} missing from its own file`);
  return service;
}
