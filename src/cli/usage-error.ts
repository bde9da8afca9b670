/** A usage error: bad arguments, an unknown verb, service or member… (`qi` exits with code 2). */
export class UsageError extends Error {}
