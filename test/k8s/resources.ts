/**
 * The resources the fake serves and the `Status` errors it answers with, worded as the real
 * API server words them (clients match on `reason` and `code`, people read `message`).
 */

export type Resource =
  'jobs' | 'pods' | 'secrets' | 'configmaps' | 'serviceaccounts' | 'roles' | 'rolebindings';

export interface ResourceInfo {
  /** '' for the core group. */
  group: string;
  version: string;
  kind: string;
  /** Update (PUT/PATCH) is served: the stores a launcher rewrites. */
  updatable: boolean;
  /** Deleting it with no policy given orphans its dependents (batch/v1 Jobs, for history). */
  orphanByDefault: boolean;
  /** A DELETE answers with the deleted object instead of a `Status` (pods do). */
  returnsDeleted: boolean;
  /** Objects of this kind carry metadata.generation. */
  generation: boolean;
}

const core = { group: '', version: 'v1', orphanByDefault: false, generation: false } as const;
const rbac = { group: 'rbac.authorization.k8s.io', version: 'v1', updatable: true } as const;

export const RESOURCES: Record<Resource, ResourceInfo> = {
  jobs: {
    group: 'batch',
    version: 'v1',
    kind: 'Job',
    updatable: false,
    orphanByDefault: true,
    returnsDeleted: false,
    generation: true,
  },
  pods: { ...core, kind: 'Pod', updatable: false, returnsDeleted: true, generation: true },
  secrets: { ...core, kind: 'Secret', updatable: true, returnsDeleted: false },
  configmaps: { ...core, kind: 'ConfigMap', updatable: true, returnsDeleted: false },
  serviceaccounts: { ...core, kind: 'ServiceAccount', updatable: true, returnsDeleted: false },
  roles: {
    ...rbac,
    kind: 'Role',
    orphanByDefault: false,
    returnsDeleted: false,
    generation: false,
  },
  rolebindings: {
    ...rbac,
    kind: 'RoleBinding',
    orphanByDefault: false,
    returnsDeleted: false,
    generation: false,
  },
};

export function apiVersionOf(info: ResourceInfo): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}

export function resourceOfKind(apiVersion: string, kind: string): Resource | undefined {
  for (const [name, info] of Object.entries(RESOURCES) as [Resource, ResourceInfo][]) {
    if (info.kind === kind && apiVersionOf(info) === apiVersion) return name;
  }
  return undefined;
}

/** `jobs.batch`, `pods`: how the server names a resource in messages. */
export function qualified(resource: Resource): string {
  const { group } = RESOURCES[resource];
  return group ? `${resource}.${group}` : resource;
}

export interface StatusCause {
  reason: string;
  message: string;
  field: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
}

/** An error the server answers with; `toStatus()` is the body. */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: StatusDetails | undefined;

  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  toStatus(): Record<string, unknown> {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

export const badRequest = (message: string): ApiError => new ApiError(400, 'BadRequest', message);

export function notFound(resource: Resource, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualified(resource)} "${name}" not found`, {
    name,
    group: RESOURCES[resource].group,
    kind: resource,
  });
}

export function alreadyExists(resource: Resource, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualified(resource)} "${name}" already exists`, {
    name,
    group: RESOURCES[resource].group,
    kind: resource,
  });
}

export function conflict(resource: Resource, name: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(resource)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group: RESOURCES[resource].group, kind: resource },
  );
}

/** 422 with one cause per broken field; the message lists them as the server does. */
export function invalid(resource: Resource, name: string, causes: StatusCause[]): ApiError {
  const { kind, group } = RESOURCES[resource];
  const list = causes.map((c) => `${c.field}: ${c.message}`);
  const what = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  return new ApiError(
    422,
    'Invalid',
    `${kind}${group ? '.' + group : ''} "${name}" is invalid: ${what}`,
    { name, group, kind, causes },
  );
}

export function expired(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}
