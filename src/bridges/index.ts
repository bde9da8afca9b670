/**
 * Bridges to other robotics frameworks. Each speaks a foreign protocol with no qi authentication, so
 * none runs unless started explicitly. ROS (rosbridge v2) for now: docs/bridges.md.
 *
 * @packageDocumentation
 */
export * from './ros/index.js';
