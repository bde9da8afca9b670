/**
 * Bridges to other robotics frameworks. Each speaks a foreign protocol with no qi authentication, so
 * none runs unless started explicitly. ROS (rosbridge v2) for now: docs/bridges.md. In ros/: bridge.ts
 * (the server), client.ts (one rosbridge client), protocol.ts, names.ts (topics, services, allowlist),
 * members.ts and served.ts (qi members as ROS topics and services), json.ts (JSON values both ways) and
 * messages.ts (ROS message shaping).
 *
 * @packageDocumentation
 */
export * from './ros/index.js';
