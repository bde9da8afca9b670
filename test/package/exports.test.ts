/**
 * What each entry point of the package exports, resolved as a user's app resolves it (an app whose
 * node_modules/qimessaging is this repository: package.json "exports", types and code): the root's
 * list of names is the one checked in here, so that a new export is a conscious choice (docs/api.md
 * says what is where); wire internals are not in the root but in `qimessaging/wire`; the root
 * re-exports nothing of `qimessaging/remote`; every subpath resolves.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { linkedApp, type App } from '../helpers/app.js';

/** The root's values (classes, functions, constants), as `import { … } from 'qimessaging'` gets them. */
const ROOT_VALUES = [
  'Access',
  'Dynamic',
  'Gateway',
  'LocalObject',
  'LogLevel',
  'LogListenerDefinition',
  'LogManager',
  'LogManagerDefinition',
  'LogMessage',
  'ObjectReference',
  'QiArgumentsError',
  'QiAuthError',
  'QiCallError',
  'QiCanceledError',
  'QiClosedError',
  'QiConfigError',
  'QiConnectError',
  'QiDecodeError',
  'QiError',
  'QiLimitError',
  'QiMethodError',
  'QiNoRouteError',
  'QiProtocolError',
  'QiScanBudgetError',
  'QiSignatureError',
  'QiStream',
  'QiStreamBrokenError',
  'QiStreamClosedError',
  'QiStreamError',
  'QiStreamReader',
  'QiTimeoutError',
  'QiTlsError',
  'QiUrlError',
  'QiValueError',
  'ServiceDirectory',
  'ServiceDirectoryDefinition',
  'Session',
  'backendOf',
  'certificateFingerprint',
  'checkAccessConfig',
  'compile',
  'createLogger',
  'decode',
  'defineObject',
  'encode',
  'inWorker',
  'inferSignature',
  'listenStandalone',
  'loadAccessConfig',
  'machineId',
  'machineIdFromSystemd',
  'method',
  'openStream',
  'parseSignature',
  'printSignature',
  'property',
  'serveLogManager',
  'signal',
  'signaturesEqual',
  'stream',
  't',
  'toDynamic',
  'userTokenAuthenticator',
];
/** The root's type-only exports (interfaces and type aliases). */
const ROOT_TYPES = [
  'AccessConfig',
  'Advice',
  'AnyProxy',
  'AuthResult',
  'AuthThrottleOptions',
  'Authenticator',
  'CallContext',
  'CallOptions',
  'ChannelLimits',
  'ClientAuthenticator',
  'Codec',
  'ConnectHint',
  'Credentials',
  'DecodeOptions',
  'DirectoryOptions',
  'EncodeOptions',
  'FoundProtocol',
  'FollowOptions',
  'GatewayMetrics',
  'GatewayOptions',
  'GatewayUser',
  'HttpHandler',
  'Identity',
  'Implementation',
  'LocalObjectOptions',
  'LogLevelName',
  'LogManagerOptions',
  'LogRecord',
  'Logger',
  'LoggerOptions',
  'MetaMethod',
  'MetaMethodParameter',
  'MetaObject',
  'MetaProperty',
  'MetaSignal',
  'MethodDef',
  'MethodOptions',
  'ObjectBackend',
  'ObjectDefinition',
  'OpenStreamOptions',
  'PropertyDef',
  'ProtocolFault',
  'ProxyFor',
  'ProxyOf',
  'QiErrorCode',
  'QiProperty',
  'QiSignal',
  'QiStreamOptions',
  'QiType',
  'ReconnectOptions',
  'Rules',
  'ServiceInfo',
  'ServiceOptions',
  'SessionOptions',
  'SignalDef',
  'SignalGap',
  'SignalIterator',
  'SignalListener',
  'Signature',
  'StreamBatch',
  'StreamEnd',
  'StreamRef',
  'TlsClientOptions',
  'TlsServerOptions',
  'TypeOf',
  'TypesOf',
  'WorkerPoolOptions',
];
/** Wire-level pieces that used to leak into the root (issue 18): `qimessaging/wire` has them. */
const WIRE_INTERNALS = [
  'HEADER_SIZE',
  'Channel',
  'Reader',
  'Writer',
  'newMessageId',
  'CAPS_CODEC',
  'truthy',
  'RemoteBackend',
  'resolveMethod',
  'ObjectServer',
];
const SUBPATHS = ['qimessaging', 'qimessaging/wire', 'qimessaging/remote', 'qimessaging/web', 'qimessaging/bridges'];

let app: App;
let modules: Record<string, Record<string, unknown>>;
before(async () => {
  app = linkedApp();
  app.write({ 'probe.mjs': SUBPATHS.map((s, i) => `export * as m${i} from '${s}';`).join('\n') });
  const probe = (await import(pathToFileURL(join(app.dir, 'probe.mjs')).href)) as Record<
    string,
    Record<string, unknown>
  >;
  modules = Object.fromEntries(SUBPATHS.map((s, i) => [s, probe[`m${i}`]]));
});
after(() => app?.remove());

interface Declared {
  /** The declaration file TypeScript resolves the specifier to, from the app. */
  file: string;
  /** Exported values (classes, functions, constants), sorted. */
  values: string[];
  /** Exported type-only names, sorted. */
  types: string[];
}
let declarations: Map<string, Declared> | undefined;

/** What TypeScript sees of `specifier` from the app (one program for every entry point, made once). */
function declared(specifier: string): Declared {
  if (!declarations) {
    const options = {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
    };
    const from = join(app.dir, 'index.ts');
    const files = SUBPATHS.map((s) => {
      const { resolvedModule } = ts.resolveModuleName(
        s,
        from,
        options,
        ts.sys,
        undefined,
        undefined,
        ts.ModuleKind.ESNext,
      );
      assert.ok(resolvedModule, `TypeScript does not resolve '${s}' from an app`);
      return resolvedModule.resolvedFileName;
    });
    const program = ts.createProgram(files, options);
    const checker = program.getTypeChecker();
    declarations = new Map();
    SUBPATHS.forEach((s, i) => {
      const values: string[] = [];
      const types: string[] = [];
      for (const e of checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(files[i]!)!)!)) {
        const target = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
        (target.flags & ts.SymbolFlags.Value ? values : types).push(e.name);
      }
      declarations!.set(s, { file: files[i]!, values: values.sort(), types: types.sort() });
    });
  }
  return declarations.get(specifier)!;
}

describe('the entry points of the package', () => {
  it("the root's export list is the checked-in one (values at run time and in its types, and type-only names)", () => {
    assert.deepEqual(Object.keys(modules['qimessaging']!).sort(), [...ROOT_VALUES].sort());
    const root = declared('qimessaging');
    assert.deepEqual(root.values, [...ROOT_VALUES].sort());
    assert.deepEqual(root.types, [...ROOT_TYPES].sort());
  });

  it('wire internals are not in the root; qimessaging/wire exports them', () => {
    const root = modules['qimessaging']!;
    const wire = modules['qimessaging/wire']!;
    assert.deepEqual(
      WIRE_INTERNALS.filter((n) => n in root),
      [],
    );
    assert.deepEqual(
      WIRE_INTERNALS.filter((n) => !(n in wire)),
      [],
    );
    assert.deepEqual(
      WIRE_INTERNALS.filter((n) => !declared('qimessaging/wire').values.includes(n)),
      [],
    );
  });

  it('qimessaging/remote resolves (code and types), and the root re-exports none of it', () => {
    const remote = modules['qimessaging/remote']!;
    for (const n of ['XmppGateway', 'XmppLink', 'RobotWatcher', 'DirectLink', 'DirectLinkHost', 'DataChannelDuplex'])
      assert.equal(typeof remote[n], 'function', n);
    assert.match(declared('qimessaging/remote').file, /dist\/src\/remote\/index\.d\.ts$/);
    const root = modules['qimessaging']!;
    assert.deepEqual(
      Object.keys(remote).filter((n) => n in root),
      [],
    );
  });

  it('every subpath resolves to code and to its declaration file', () => {
    for (const s of SUBPATHS) {
      assert.ok(Object.keys(modules[s]!).length > 0, s);
      assert.match(declared(s).file, /\/dist\/src\/.*\.d\.ts$/, s);
    }
  });
});
