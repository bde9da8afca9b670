/**
 * The YARP bridge: qi signals and methods as YARP ports registered with a YARP name server, off by
 * default and unauthenticated by nature. See docs/bridges.md, "YARP".
 *
 * @packageDocumentation
 */
export { YarpBridge, YARP_UNAUTHENTICATED_REFUSAL, type YarpBridgeOptions, type YarpBridgeMetrics } from './bridge.js';
export { encodeBottle, decodeBottle, MAX_BOTTLE_DEPTH, type Bottle, type BottleValue } from './bottle.js';
export { bottleText, parseBottleText } from './bottle-text.js';
export { NameClient, parseNameServer, type YarpContact, type NameServerAddress } from './name-client.js';
export { toBottleValue, fromBottleValue, bottleDynamic } from './values.js';
export { TCP_HEADER, yarpNumber, readYarpNumber, senderName, portCommand, message } from './wire.js';
