/**
 * Camera frames from qi to a ROS node as sensor_msgs/Image: a rospy subscriber typed with Debian's
 * sensor_msgs.msg.Image (so rospy checks the md5sum) reads each field; frames whose sizes do not match
 * their bytes are refused on the qi side with an error naming the sizes, lying sizes included.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocalObject, Session, defineObject, method, parseSignature, signal, t } from '../../src/index.js';
import { deserialize, imageOfALImage, md5sum, messageTypeOf, serialize } from '../../src/bridges/index.js';
import { IMAGE_SPEC } from '../../src/bridges/rosgraph/image.js';
import { sensorMsgsSkip } from '../helpers/rosmaster.js';
import { rosGraphWorld } from '../helpers/rosgraph-world.js';
import { until } from '../helpers/until.js';

const Frame = t.struct('Frame', {
  width: t.uint32,
  height: t.uint32,
  encoding: t.string,
  step: t.uint32,
  frame_id: t.string,
  data: t.raw,
});
/** The smallest image: no step (rows packed), no frame id. */
const Packed = t.struct('Packed', { width: t.int32, height: t.int32, encoding: t.string, data: t.raw });
/** Not an image: an extra field it could not carry. */
const Tagged = t.struct('Tagged', {
  width: t.int32,
  height: t.int32,
  encoding: t.string,
  data: t.raw,
  camera: t.int32,
});
const Camera = defineObject({ signals: { frame: signal([Frame]), packed: signal([Packed]) } });
/** What ALVideoDevice.getImageRemote answers (its documented ALValue array), for the conversion test. */
const VideoDevice = defineObject({ methods: { getImageRemote: method([t.string], t.dynamic) } });

/** A rospy subscriber typed with sensor_msgs/Image: prints the fields of n messages. */
const IMAGE_SUBSCRIBER = `
import sys, rospy
from sensor_msgs.msg import Image
n = int(sys.argv[2]); got = []
def cb(m):
    print('IMG', m.header.seq, m.header.stamp.secs > 0, repr(m.header.frame_id), m.height, m.width, m.encoding,
          m.is_bigendian, m.step, len(m.data), list(bytearray(m.data))[:4], flush=True)
    got.append(1)
    if len(got) >= n: rospy.signal_shutdown('done')
rospy.init_node('qi_camera_viewer', anonymous=True)
rospy.Subscriber(sys.argv[1], Image, cb)
rospy.spin()
`;

const sig = (q: { signature: string }) => parseSignature(q.signature);
const pixels = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => i % 256));

describe('ROS graph bridge: sensor_msgs/Image', { skip: sensorMsgsSkip }, () => {
  let timer: NodeJS.Timeout;
  const ros = rosGraphWorld(
    'Camera',
    () => new LocalObject(Camera, {}),
    { allow: ['signal:Camera.*'] },
    {
      // A camera keeps sending frames: 4x2 rgb8 with padded rows (16 bytes for 12), and a packed mono8 one.
      started: ({ object: camera }) => {
        timer = setInterval(() => {
          camera.emit('frame', { width: 4, height: 2, encoding: 'rgb8', step: 16, frame_id: 'cam0', data: pixels(32) });
          camera.emit('packed', { width: 3, height: 2, encoding: 'mono8', data: pixels(6) });
        }, 100);
      },
      stopping: () => clearInterval(timer),
    },
  );

  it('maps an image struct to sensor_msgs/Image with the md5sum rospy checks; others stay qi_msgs', async () => {
    const py = await ros.master.run('/usr/bin/python3', [
      '-c',
      'from sensor_msgs.msg import Image; print(Image._md5sum)',
    ]);
    assert.equal(py.stdout.trim(), md5sum(IMAGE_SPEC));
    assert.equal(messageTypeOf('Camera', 'frame', [sig(Frame)]).spec.type, 'sensor_msgs/Image');
    assert.equal(messageTypeOf('Camera', 'tagged', [sig(Tagged)]).spec.type, 'qi_msgs/Tagged');
    // Both ways (a qi method taking a frame, called from ROS): the struct comes back as it was.
    const type = messageTypeOf('Camera', 'frame', [sig(Frame)]);
    const frame = { width: 2, height: 1, encoding: 'mono16', step: 4, frame_id: 'f', data: pixels(4) };
    const back = type.fromMessage(deserialize(type.spec, serialize(type.spec, type.toMessage([frame]))));
    assert.deepEqual(back, [{ ...frame, data: Buffer.from(frame.data) }]);
    const info = await ros.master.run('rostopic', ['info', '/qi/Camera/frame']);
    assert.match(info.stdout, /Type: sensor_msgs\/Image/);
  });

  it('delivers qi frames to a typed rospy subscriber: header, sizes, encoding, step and bytes', async () => {
    for (const [topic, expected] of [
      ['/qi/Camera/frame', /^IMG (\d+) True 'cam0' 2 4 rgb8 0 16 32 \[0, 1, 2, 3\]$/gm],
      ['/qi/Camera/packed', /^IMG (\d+) True '' 2 3 mono8 0 3 6 \[0, 1, 2, 3\]$/gm],
    ] as const) {
      const r = await ros.master.run('/usr/bin/python3', ['-c', IMAGE_SUBSCRIBER, topic, '2']);
      assert.equal(r.code, 0, r.stderr);
      const seqs = [...r.stdout.matchAll(expected)].map((m) => Number(m[1]));
      assert.equal(seqs.length, 2, r.stdout);
      assert.equal(seqs[1], seqs[0] + 1, 'header.seq counts the frames');
    }
  });

  it('refuses frames whose sizes do not match their bytes, lying sizes included, with an error on the qi side', async () => {
    const bad = [
      [
        { width: 4, height: 2, encoding: 'rgb8', step: 16, frame_id: '', data: pixels(31) },
        /says 4x2 with rows of 16 bytes \(32 bytes\), but its data has 31 bytes/,
      ],
      [
        { width: 0xffffffff, height: 0xffffffff, encoding: 'rgb8', step: 0xffffffff, frame_id: '', data: pixels(3) },
        /says 4294967295x4294967295 with rows of 4294967295 bytes .*but its data has 3 bytes/,
      ],
      [
        { width: 1_000_000, height: 1, encoding: 'rgb8', step: 12, frame_id: '', data: pixels(12) },
        /rows of 12 bytes cannot hold 1000000 pixels of rgb8 \(3 bytes each/,
      ],
      [
        { width: 3, height: 0, encoding: 'mono8', step: 3, frame_id: '', data: pixels(3) },
        /says 3x0 with rows of 3 bytes \(0 bytes\), but its data has 3 bytes/,
      ],
    ] as const;
    const type = messageTypeOf('Camera', 'frame', [sig(Frame)]);
    for (const [frame, message] of bad) assert.throws(() => type.toMessage([frame]), message);
    assert.throws(
      () =>
        messageTypeOf('Camera', 'packed', [sig(Packed)]).toMessage([
          { width: 2, height: 3, encoding: 'mono8', data: pixels(7) },
        ]),
      /7 bytes of data do not make 3 rows of equal length/,
    );
    // Over real sockets: the bridge refuses to send it and tells the operator, once per 10 s per member.
    const before = ros.bridge.metrics.published;
    for (let i = 0; i < 50; i++) ros.object.emit('frame', bad[1][0]);
    await until(
      () =>
        ros.warnings.some((w) =>
          /an emission of Camera\.frame does not fit sensor_msgs\/Image: .*but its data has 3 bytes/.test(w),
        ),
      'the warning about a lying frame',
      10_000,
    );
    assert.equal(ros.warnings.filter((w) => /Camera\.frame does not fit/.test(w)).length, 1, ros.warnings.join('\n'));
    assert.ok(ros.bridge.metrics.published >= before);
  });

  it('converts a NAOqi ALImage (as getImageRemote answers it over a socket) to an image struct, refusing lying sizes', async () => {
    let answer: unknown[] = [4, 2, 3, 11, 1_700_000_000, 500_000, pixels(24), 0, -0.5, 0.5, -0.4, 0.4];
    await ros.provider.registerService('VideoDevice', new LocalObject(VideoDevice, { getImageRemote: () => answer }));
    const client = await Session.connect(ros.url, { lpc: false });
    try {
      const video = (await client.service('VideoDevice')) as unknown as { getImageRemote(n: string): Promise<unknown> };
      const image = imageOfALImage(await video.getImageRemote('sub'), 'CameraTop_optical_frame');
      assert.deepEqual(
        { ...image, data: image.data.length },
        {
          width: 4,
          height: 2,
          encoding: 'rgb8',
          step: 12,
          frame_id: 'CameraTop_optical_frame',
          data: 24,
        },
      );
      assert.equal(messageTypeOf('Camera', 'frame', [sig(Frame)]).toMessage([image]).encoding, 'rgb8');
      answer = [4, 2, 3, 11, 0, 0, pixels(23)];
      await assert.rejects(
        async () => imageOfALImage(await video.getImageRemote('sub')),
        /4x2 with 3 layers is 24 bytes, but it carries 23/,
      );
      answer = [4, 2, 3, 99, 0, 0, pixels(24)];
      await assert.rejects(
        async () => imageOfALImage(await video.getImageRemote('sub')),
        /colour space 99 has no sensor_msgs encoding/,
      );
      answer = [4, 2];
      await assert.rejects(
        async () => imageOfALImage(await video.getImageRemote('sub')),
        /expected an array of at least 7 items/,
      );
    } finally {
      await client.close();
    }
  });
});
