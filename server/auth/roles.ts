import { Role } from "../../gen/taskqueue/v1/auth_service_pb.js";

/** The roles a token can have, from most to least powerful. */
export const ROLE_NAMES = ["admin", "operator", "producer", "worker", "viewer"] as const;

/** A role by name, as stored in `api_tokens.role` and shown in errors. */
export type RoleName = (typeof ROLE_NAMES)[number];

const byEnum: ReadonlyMap<Role, RoleName> = new Map([
  [Role.ADMIN, "admin"],
  [Role.OPERATOR, "operator"],
  [Role.PRODUCER, "producer"],
  [Role.WORKER, "worker"],
  [Role.VIEWER, "viewer"],
]);

/** The role name of an API enum value; undefined for ROLE_UNSPECIFIED or an unknown number. */
export function roleNameOf(role: Role): RoleName | undefined {
  return byEnum.get(role);
}

/** The API enum value of a role name (ROLE_UNSPECIFIED for an unknown stored name). */
export function roleEnumOf(name: string): Role {
  for (const [role, roleName] of byEnum) if (roleName === name) return role;
  return Role.UNSPECIFIED;
}

/** Whether `name` is a role name. */
export function isRoleName(name: string): name is RoleName {
  return (ROLE_NAMES as readonly string[]).includes(name);
}
