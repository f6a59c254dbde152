import type { DescMessage } from "@bufbuild/protobuf";

/** The field numbers of a message, by the fields' local (camelCase) names. */
export type FieldNumbers<Desc extends DescMessage> = { readonly [K in keyof Desc["field"]]: number };

/**
 * The field numbers of the generated message `schema`, read once from its descriptor, so that
 * hand-written codecs name fields (`TASK.createdAt`) instead of repeating numbers that the
 * `.proto` file already fixes. Call it at module load and keep the result.
 */
export function fieldNumbers<Desc extends DescMessage>(schema: Desc): FieldNumbers<Desc> {
  const numbers: Record<string, number> = {};
  for (const field of schema.fields) numbers[field.localName] = field.number;
  return Object.freeze(numbers) as FieldNumbers<Desc>;
}
