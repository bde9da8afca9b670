/**
 * `.srv` definitions from files, as ROS keeps them: `<package>/srv/<Name>.srv`, the messages they use in
 * `<package>/msg/<Name>.msg`. {@link loadServiceDefinition} reads the file named (or finds the type in
 * the ROS package folders) and appends the definition of every message it uses, as a connection
 * header's full text does, so that a service with nested types (`std_msgs/Header`) can be called.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { QiError } from '../../errors/index.js';
import { BUILTINS } from './msgspec.js';
import type { RosServiceDefinition } from './ros-services.js';

const configError = (m: string) => new QiError('ERR_QI_CONFIG', m);

/** Largest .srv or .msg file read. */
const MAX_FILE_BYTES = 1024 * 1024;
/** Most message types one service may use. */
const MAX_TYPES = 256;

/**
 * Where ROS packages are looked for: each folder of `ROS_PACKAGE_PATH`, then `/opt/ros/<distro>/share`,
 * then `/usr/share` (Debian's ros-*-msgs packages).
 */
export function rosPackageFolders(env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = (env.ROS_PACKAGE_PATH ?? '').split(':').filter((p) => p !== '');
  let distros: string[] = [];
  try {
    distros = readdirSync('/opt/ros').map((d) => join('/opt/ros', d, 'share'));
  } catch {
    // no /opt/ros
  }
  return [...fromEnv, ...distros, '/usr/share'];
}

function readText(path: string, what: string): string {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw configError(`cannot read the ${what} ${path}: ${(e as Error).message}`);
  }
  if (size > MAX_FILE_BYTES) throw configError(`the ${what} ${path} is over ${MAX_FILE_BYTES} bytes`);
  return readFileSync(path, 'utf8');
}

function find(folders: readonly string[], pkg: string, kind: 'msg' | 'srv', name: string): string | undefined {
  return folders.map((f) => join(f, pkg, kind, `${name}.${kind}`)).find((p) => existsSync(p));
}

const TYPE_NAME = /^[A-Za-z][A-Za-z0-9_]*\/[A-Za-z][A-Za-z0-9_]*$/;

/** The message types a definition uses (`pkg/Name`), without builtins and array suffixes. */
function usedTypes(text: string, pkg: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '' || line === '---' || line.includes('=')) continue;
    const type = line.split(/\s+/)[0].replace(/\[\d*\]$/, '');
    if ((BUILTINS as readonly string[]).includes(type)) continue;
    out.push(type === 'Header' ? 'std_msgs/Header' : type.includes('/') ? type : `${pkg}/${type}`);
  }
  return out;
}

/**
 * A ROS service that qi may call: `NAME=pkg/Type` (the `.srv` found in `folders`) or `NAME=FILE.srv`
 * (its type from the path `…/pkg/srv/Type.srv`, else `qi_ros/Type`). Messages the `.srv` uses are
 * read from `<folder>/<pkg>/msg/<Name>.msg` (and for a file, from its own package's `msg` folder too).
 * @throws QiError `ERR_QI_CONFIG` for a bad spec, a file or message type not found, or over 1 MiB
 */
export function loadServiceDefinition(
  spec: string,
  folders: readonly string[] = rosPackageFolders(),
): RosServiceDefinition {
  const eq = spec.indexOf('=');
  const name = eq > 0 ? spec.slice(0, eq) : '';
  const what = spec.slice(eq + 1);
  if (!/^\/?[A-Za-z][A-Za-z0-9_/]*$/.test(name) || what === '')
    throw configError(
      `${JSON.stringify(spec)} is not NAME=TYPE or NAME=FILE.srv (e.g. /add_two_ints=rospy_tutorials/AddTwoInts)`,
    );
  let path: string;
  let type: string;
  let search = folders;
  if (what.endsWith('.srv')) {
    path = what;
    const m = /([A-Za-z][A-Za-z0-9_]*)\/srv\/([A-Za-z][A-Za-z0-9_]*)\.srv$/.exec(what);
    type = m ? `${m[1]}/${m[2]}` : `qi_ros/${basename(what, '.srv')}`;
    if (m) search = [dirname(dirname(dirname(what))), ...folders];
  } else {
    if (!TYPE_NAME.test(what)) throw configError(`${JSON.stringify(what)} is not a ROS service type (pkg/Name)`);
    type = what;
    const [pkg, base] = what.split('/');
    const found = find(folders, pkg, 'srv', base);
    if (found === undefined)
      throw configError(
        `the service type ${what} is not installed: no ${pkg}/srv/${base}.srv in ${folders.join(', ')} (set ROS_PACKAGE_PATH, or give NAME=FILE.srv)`,
      );
    path = found;
  }
  const srv = readText(path, '.srv file');
  const pkg = type.split('/')[0];
  // Messages used, depth first, each once: appended as `MSG:` sections of each half's full text.
  const sections = new Map<string, string>();
  const queue = usedTypes(srv, pkg);
  while (queue.length > 0) {
    const t = queue.shift()!;
    if (sections.has(t)) continue;
    if (sections.size >= MAX_TYPES) throw configError(`${path} uses more than ${MAX_TYPES} message types`);
    if (!TYPE_NAME.test(t)) throw configError(`${path} uses ${JSON.stringify(t.slice(0, 80))}, not a message type`);
    const [p, base] = t.split('/');
    const file = find(search, p, 'msg', base);
    if (file === undefined)
      throw configError(`${path} uses ${t}, whose ${p}/msg/${base}.msg is not in ${search.join(', ')}`);
    const text = readText(file, '.msg file');
    sections.set(t, text);
    queue.push(...usedTypes(text, p));
  }
  const tail = [...sections].map(([t, text]) => `${'='.repeat(80)}\nMSG: ${t}\n${text}\n`).join('');
  const [request, response] = srv.split(/^---[ \t]*$/m);
  const definition = response === undefined ? srv : `${request}\n${tail}---\n${response}\n${tail}`;
  return { name: name.startsWith('/') ? name : `/${name}`, type, definition };
}
