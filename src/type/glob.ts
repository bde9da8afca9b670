/**
 * Wildcard patterns for service and member names, as the gateway's permissions, the ROS bridge's
 * allowlist and the CLI's targets write them.
 */

/**
 * The RegExp of a wildcard pattern: `*` matches any run of characters (line breaks too: names may hold
 * them), `?` any one character; everything else matches itself, and the whole name must match.
 */
export function globRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}
