/**
 * The ROS graph bridge: a ROS 1 node (master and slave XML-RPC APIs, TCPROS) in front of a qi
 * ServiceDirectory, off by default and unauthenticated by nature. See docs/bridges.md, "ROS graph".
 *
 * @packageDocumentation
 */
export { RosGraphBridge, GRAPH_UNAUTHENTICATED_REFUSAL, signalNameOf, type RosGraphOptions } from './graph.js';
export { RosNode, type RosNodeOptions, type RosNodeMetrics } from './node.js';
export { md5sum, fullText, definitionText, parseDefinition, type MsgSpec, type FieldType } from './msgspec.js';
export { messageTypeOf, type QiMessageType } from './msgqi.js';
export { qiSignatureOf } from './msgdynamic.js';
export { serialize, deserialize } from './serialize.js';
export type { RosServiceDefinition } from './ros-services.js';
export { loadServiceDefinition, rosPackageFolders } from './srv-files.js';
export { imageOfALImage, type ImageStruct } from './image.js';
