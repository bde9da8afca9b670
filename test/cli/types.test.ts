/**
 * `qi types`: declarations generated from live MetaObjects type-check, and they type proxies (a wrong
 * argument is a compile error). Also run on the MetaObject of a real NAOqi 2.5 ServiceDirectory.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { decode, type MetaObject } from '../../src/index.js';
import { METAOBJECT_SIGNATURE } from '../../src/wire.js';
import { declarations } from '../../src/cli/typegen.js';
import { sharedFile } from '../helpers/shared.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const QI = join(root, 'dist/src/cli/main.js');
const dir = join(root, 'dist/typegen-check');
const robot = spawn(process.execPath, [join(root, 'dist/examples/robot.js')], {
  env: { ...process.env, QI_LISTEN: 'tcp://127.0.0.1:0', QI_GATEWAY: 'off' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
after(() => {
  robot.kill('SIGINT');
});

function robotUrl(): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    robot.stdout.on('data', (d) => {
      out += d;
      const m = /client\.js (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
  });
}

describe('qi types', () => {
  it('generates declarations that type proxies', async () => {
    const url = await robotUrl();
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [QI, '--url', url, 'types', '--import', '../../src/index.js'],
      { timeout: 15_000 },
    );
    assert.match(stdout, /export const Camera = defineObject\(\{/);
    assert.match(
      stdout,
      /getImage: method\(\[\], t\.struct\("Image", \{ width: t\.int32, height: t\.int32, format: t\.string, data: t\.raw \}\)/,
    );
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'robot.ts'), stdout);
    const meta = decode<MetaObject>(METAOBJECT_SIGNATURE, sharedFile('vectors/naoqi-2.5-meta-object.bin'));
    writeFileSync(join(dir, 'naoqi25.ts'), declarations([{ name: 'ServiceDirectory', meta }], '../../src/index.js'));
    writeFileSync(
      join(dir, 'usage.ts'),
      `import type { Session } from '../../src/index.js';
import type { Robot } from './robot.js';
import type { Robot as NaoqiRobot } from './naoqi25.js';
export async function use(session: Session): Promise<number> {
  const tts = await session.service<Robot.TextToSpeech>('TextToSpeech');
  await tts.say('hello');
  // @ts-expect-error say takes a string
  await tts.say(42);
  const volume: number = await tts.volume.get();
  await tts.done.connect((text: string) => text.length);
  const image = await (await session.service<Robot.Camera>('Camera')).getImage();
  const bytes: Uint8Array = image.data;
  const sd = await session.service<NaoqiRobot.ServiceDirectory>('ServiceDirectory');
  const info = await sd.service('ALTextToSpeech');
  const endpoints: string[] = info.endpoints;
  // @ts-expect-error a 6-field ServiceInfo has no objectUid
  info.objectUid;
  return volume + bytes.length + image.width + endpoints.length;
}
`,
    );
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    try {
      execFileSync(
        process.execPath,
        [
          tsc,
          '--noEmit',
          '--strict',
          '--target',
          'ES2022',
          '--module',
          'NodeNext',
          '--moduleResolution',
          'NodeNext',
          '--types',
          'node',
          '--skipLibCheck',
          join(dir, 'usage.ts'),
        ],
        { stdio: 'pipe', cwd: root },
      );
    } catch (e) {
      assert.fail(`the generated declarations do not type-check:\n${(e as { stdout?: Buffer }).stdout?.toString()}`);
    }
  });
});
