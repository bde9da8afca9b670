/**
 * A client of the YARP name server (`yarpserver`), in the text form YARP's own name client uses: one TCP
 * connection per command, the line `NAME_SERVER <command>\n`, answered by lines up to one starting with
 * `*` (`*** end of message`). A registration reads `registration name /p ip 127.0.0.1 port 10002 type tcp`.
 * The server is not trusted either: answers are bounded in lines, bytes and time.
 */
import net from 'node:net';
import { QiError } from '../../errors/index.js';
import { SocketReader } from './socket-reader.js';

/** Where a port is, as the name server says. */
export interface YarpContact {
  name: string;
  host: string;
  port: number;
  carrier: string;
}

/** The name server's address, `host:port`. */
export interface NameServerAddress {
  host: string;
  port: number;
}

/** Longest answer line, and most lines, read from the name server. */
export const MAX_NAME_LINE = 64 * 1024;
export const MAX_NAME_LINES = 10_000;

/**
 * Parses `host:port` (the `--yarp` value; YARP's default port is 10000).
 * @throws QiError `ERR_QI_CONFIG` for anything else
 */
export function parseNameServer(text: string): NameServerAddress {
  const m = /^(?:\[([^\]]+)\]|([^:/\s]+))(?::(\d{1,5}))?$/.exec(text.trim());
  const port = m ? Number(m[3] ?? 10000) : NaN;
  if (!m || port < 1 || port > 65535)
    throw new QiError(
      'ERR_QI_CONFIG',
      `${JSON.stringify(text)} is not a YARP name server address: give host:port, as printed by yarpserver (127.0.0.1:10000)`,
    );
  return { host: m[1] ?? m[2], port };
}

/** A `registration …` line as a contact, or undefined. */
export function parseRegistration(line: string): YarpContact | undefined {
  const w = line.trim().split(/\s+/);
  if (w[0] !== 'registration' || w.length < 9) return undefined;
  const at = (key: string) => w[w.indexOf(key) + 1];
  const port = Number(at('port'));
  if (!Number.isInteger(port) || port < 0 || port > 65535) return undefined;
  return { name: at('name'), host: at('ip'), port, carrier: at('type') };
}

export class NameClient {
  constructor(
    readonly server: NameServerAddress,
    private readonly timeoutMs = 5000,
  ) {}

  /**
   * Sends one command and returns the lines of the answer (without the final `*` line).
   * @throws QiError `ERR_QI_CONNECT` when the server cannot be reached, `ERR_QI_TIMEOUT`, `ERR_QI_LIMIT`
   */
  async send(command: string): Promise<string[]> {
    if (/[\r\n]/.test(command)) throw new QiError('ERR_QI_VALUE', 'a YARP name server command is one line');
    const { host, port } = this.server;
    const socket = net.connect({ host, port });
    const reader = new SocketReader(socket, MAX_NAME_LINE * 2);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new QiError(
              'ERR_QI_TIMEOUT',
              `the YARP name server ${host}:${port} did not answer within ${this.timeoutMs} ms`,
            ),
          ),
        this.timeoutMs,
      );
    });
    const work = (async () => {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', (e) =>
          reject(
            new QiError(
              'ERR_QI_CONNECT',
              `cannot reach the YARP name server at ${host}:${port} (${e.message}): is yarpserver running there?`,
            ),
          ),
        );
      });
      socket.write(`NAME_SERVER ${command}\n`);
      const lines: string[] = [];
      for (;;) {
        const line = await reader.line(MAX_NAME_LINE);
        if (line.startsWith('*') || line.startsWith('[')) return lines;
        if (lines.length >= MAX_NAME_LINES)
          throw new QiError('ERR_QI_LIMIT', `the YARP name server answered more than ${MAX_NAME_LINES} lines`);
        lines.push(line);
      }
    })();
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
      socket.destroy();
      work.catch(() => {});
    }
  }

  /** Registers `name` at `host:port` (tcp). @throws QiError `ERR_QI_CONNECT` when refused */
  async register(name: string, host: string, port: number): Promise<YarpContact> {
    const lines = await this.send(`register ${name} tcp ${host} ${port}`);
    const c = lines.map(parseRegistration).find((x) => x !== undefined);
    if (!c || c.name !== name || c.port !== port)
      throw new QiError(
        'ERR_QI_CONNECT',
        `the YARP name server did not register ${name} at ${host}:${port} (it answered ${JSON.stringify(lines.join(' | '))}): is the name taken by another port?`,
      );
    return c;
  }

  /** Where `name` is, or undefined when it is not registered. */
  async query(name: string): Promise<YarpContact | undefined> {
    const c = (await this.send(`query ${name}`)).map(parseRegistration).find((x) => x !== undefined);
    return c && c.port > 0 ? c : undefined;
  }

  /** Removes `name`. */
  async unregister(name: string): Promise<void> {
    await this.send(`unregister ${name}`);
  }

  /** Every registration the server holds. */
  async list(): Promise<YarpContact[]> {
    return (await this.send('list')).map(parseRegistration).filter((x): x is YarpContact => x !== undefined);
  }
}
