/**
 * The ROS bridge: rosbridge v2 (JSON over WebSocket) in front of a qi ServiceDirectory, off by
 * default and unauthenticated by nature. See docs/bridges.md.
 *
 * @packageDocumentation
 */
export { RosBridge, UNAUTHENTICATED_REFUSAL, type RosBridgeOptions } from './bridge.js';
export type { RosBridgeMetrics } from './client.js';
export { RosAllowlist, parseRosName, rosName, ACCESS_KINDS, type RosAccessKind, type QiTarget } from './names.js';
export { fromJson, toJson, jsonDynamic, describeType, RosValueError } from './json.js';
export { messageOf, messageOfArgs, argsFromRos, requestOf, paramsOf, type Param } from './messages.js';
