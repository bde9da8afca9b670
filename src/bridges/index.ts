/**
 * Bridges to other robotics frameworks. Each speaks a foreign protocol with no qi authentication, so
 * none runs unless started explicitly: docs/bridges.md. rosgraph/ joins a ROS 1 graph as a node (XML-RPC
 * master and slave APIs, TCPROS, message md5sums). In ros/, the rosbridge v2 server: bridge.ts
 * (the server), client.ts (one rosbridge client), protocol.ts, names.ts (topics, services, allowlist),
 * members.ts and served.ts (qi members as ROS topics and services), json.ts (JSON values both ways) and
 * messages.ts (ROS message shaping). yarp/ offers qi members as YARP ports (name server, tcp and text
 * carriers, Bottles).
 *
 * @packageDocumentation
 */
export * from './ros/index.js';
export * from './rosgraph/index.js';
export * from './yarp/index.js';
