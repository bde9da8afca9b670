#!/usr/bin/env node
/**
 * `qi`: the qimessaging command line (what libqi users know as qicli). Every verb takes `--url`
 * (default `QI_URL` or tcp://127.0.0.1:9559), credentials, TLS options and `--json`.
 * Exit codes: 0 ok, 1 the remote side failed, 2 bad usage or arguments, 3 cannot connect or authenticate.
 * The verbs that need features (gateway, xmpp-*, ros-bridge) are imported when run, so that the others
 * start without loading them.
 */
import { Command } from 'commander';
import { call } from './call.js';
import type { GlobalOptions } from './common.js';
import type { GatewayVerbOptions } from './gateway.js';
import { info } from './info.js';
import { log, logSend } from './log.js';
import { property } from './property.js';
import type { RosBridgeVerbOptions } from './ros-bridge.js';
import { sd } from './sd.js';
import { services } from './services.js';
import { top } from './top.js';
import { trace } from './trace.js';
import { types } from './types.js';
import { watch } from './watch.js';
import { unknownVerb } from './names.js';
import { packageVersion } from './version.js';

const program = new Command('qi')
  .description('Talk to a qimessaging (NAOqi) bus: list services, call methods, run a ServiceDirectory')
  .option('--url <url>', 'ServiceDirectory to use', process.env.QI_URL ?? 'tcp://127.0.0.1:9559')
  .option('--json', 'machine-readable output')
  .option('--user <user>', 'user name for authentication (or QI_USER)')
  .option('--token <token>', 'password or token (or QI_TOKEN)')
  .option('--fingerprint <sha256>', 'trust the TLS certificate with this fingerprint (or QI_TLS_FINGERPRINT)')
  .option('--insecure', 'accept any TLS certificate (as libqi does)')
  .option('--timeout <ms>', 'give up connecting (exit 3), then each call (exit 1), after this many milliseconds')
  .option('--wait <seconds>', 'wait this long for services that are not there yet')
  .option('--proxy <url>', 'connect through this HTTP proxy, http://[user:password@]host:port (or QI_PROXY)')
  .option('--xmpp-service <url>', 'XMPP server of your account, for xmpp:// URLs (or QI_XMPP_SERVICE)')
  .option('--xmpp-jid <jid>', 'your XMPP account, name@server (or QI_XMPP_JID)')
  .option('--xmpp-password <password>', 'its password (or QI_XMPP_PASSWORD)')
  .option(
    '--xmpp-alternate <url>',
    "another address of the same XMPP service (a cluster's node), tried when the first does not answer; repeatable (or QI_XMPP_ALTERNATES, comma-separated)",
    (v: string, all: string[]) => [...all, v],
    [] as string[],
  )
  .option(
    '--xmpp-ca <file>',
    "the CA certificate (PEM) of the XMPP server's certificate, besides Node's CAs (or QI_XMPP_CA)",
  )
  .option(
    '--xmpp-fingerprint <sha256>',
    "trust exactly the XMPP server's certificate with this fingerprint (or QI_XMPP_FINGERPRINT)",
  )
  .version(packageVersion(), '-V, --version', 'print the version')
  .showHelpAfterError('(add --help for usage)')
  .exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2));

const globals = (cmd: Command): GlobalOptions => cmd.optsWithGlobals() as GlobalOptions;

program
  .command('services')
  .description('list the services (id, name, process, endpoints)')
  .action((_o, cmd: Command) => services(globals(cmd)));
program
  .command('info')
  .description('show methods, signals and properties of services')
  .argument('[services...]', 'service names or patterns such as AL* (default: all)')
  .option('--hidden', 'include the built-in members')
  .action((names: string[], _o, cmd: Command) => info(names, globals(cmd)));
program
  .command('call')
  .description('call a method; arguments are JSON literals, or plain text for strings')
  .argument('<SERVICE.METHOD>')
  .argument('[args...]')
  .action((spec: string, args: string[], _o, cmd: Command) => call(spec, args, globals(cmd)));
program
  .command('post')
  .description('post to a method or signal (no answer)')
  .argument('<SERVICE.MEMBER>')
  .argument('[args...]')
  .action((spec: string, args: string[], _o, cmd: Command) => call(spec, args, globals(cmd), true));
program
  .command('get')
  .description('read a property')
  .argument('<SERVICE.PROPERTY>')
  .action((spec: string, _o, cmd: Command) => property(spec, undefined, globals(cmd)));
program
  .command('set')
  .description('write a property; the value is a JSON literal, or plain text for a string')
  .argument('<SERVICE.PROPERTY>')
  .argument('<value>')
  .action((spec: string, value: string, _o, cmd: Command) => property(spec, value, globals(cmd)));
program
  .command('watch')
  .description('print signal emissions until Ctrl-C (or --time)')
  .argument('<SERVICE.SIGNAL...>')
  .option('--time <seconds>', 'stop after this many seconds')
  .option('--reconnect', 'when the robot or a service goes away, wait for it and go on (default: exit 1)')
  .action((specs: string[], _o, cmd: Command) => watch(specs, globals(cmd)));
program
  .command('top')
  .description('calls per method and their time (min/mean/max), refreshed every interval (libqi statistics)')
  .argument('[services...]', 'service names or patterns such as AL* (default: all)')
  .option('--interval <seconds>', 'time between samples (default 1)')
  .option('--sort <key>', 'time (total wall time, default) or calls')
  .option('--count <n>', 'stop after this many samples (default: until Ctrl-C; --json: 1)')
  .action((names: string[], _o, cmd: Command) => top(names, globals(cmd)));
program
  .command('trace')
  .description('print every call, reply, error and signal of services as they happen, until Ctrl-C (libqi trace)')
  .argument('[services...]', 'service names or patterns such as AL* (default: all)')
  .option('--count <n>', 'stop after this many events')
  .option('--time <seconds>', 'stop after this many seconds')
  .option('--full', 'print arguments whole (default: abbreviated)')
  .action((names: string[], _o, cmd: Command) => trace(names, globals(cmd)));
program
  .command('log')
  .description("print the bus's log records (its LogManager) until Ctrl-C, --count or --time")
  .option('--level <level>', 'most verbose level shown: fatal, error, warning, info, verbose or debug', 'info')
  .option('--category <pattern...>', 'only these categories; * is a wildcard, e.g. "audio.*" (default: all)')
  .option('--count <n>', 'stop after this many records')
  .option('--time <seconds>', 'stop after this many seconds')
  .action((_o, cmd: Command) => log(globals(cmd)));
program
  .command('log-send')
  .description("send one record to the bus's LogManager")
  .argument('<message>')
  .option('--level <level>', 'fatal, error, warning, info, verbose or debug', 'info')
  .option('--category <category>', 'category of the record', 'qi.cli')
  .action((message: string, _o, cmd: Command) => logSend(message, globals(cmd)));
program
  .command('types')
  .description('print TypeScript declarations of services, for typed proxies')
  .argument('[services...]', 'service names (default: all but the ServiceDirectory)')
  .option('--import <module>', 'module the declarations import from', 'qimessaging')
  .action((names: string[], _o, cmd: Command) => types(names, globals(cmd)));
program
  .command('sd')
  .description('run a standalone ServiceDirectory until Ctrl-C')
  .option('--listen <url...>', 'URLs to listen on', ['tcp://127.0.0.1:9559'])
  .action((_o, cmd: Command) => sd(globals(cmd) as GlobalOptions & { listen: string[] }));

program
  .command('gateway')
  .description('serve every service of an internal ServiceDirectory on one public address, with users and permissions')
  .option('--sd <url>', 'the internal ServiceDirectory (default: --url)')
  .option('--listen <url...>', 'public URLs to listen on (tcp, tcps, tcpsm, ws, wss)', ['tcp://0.0.0.0:9560'])
  .option('--config <file>', 'JSON file of users, tokens and permission rules (see docs/gateway.md)')
  .option('--allow <pattern...>', 'let anonymous clients use these services or members, e.g. "TextToSpeech.*"')
  .option('--cert <file>', 'TLS certificate (PEM) for tcps/tcpsm/wss listeners')
  .option('--key <file>', 'TLS private key (PEM)')
  .option('--ca <file>', 'CA (PEM) that signs client certificates, for tcpsm')
  .option(
    '--advertise <url...>',
    'public URLs to give clients, when they reach the gateway through NAT or a port forward',
  )
  .option('--slow-client <policy>', 'drop-signals (default) or disconnect a client that does not keep up')
  .option('--max-queue-bytes <n>', 'bytes queued to a slow client before its signals are dropped (default 8388608)')
  .option('--max-connections <n>', 'most outside connections at once, per listener (default 10000)')
  .option(
    '--max-connections-per-address <n>',
    'most connections at once from one remote address, counted from the TCP accept (default 64)',
  )
  .option(
    '--handshake-timeout <ms>',
    'close a connection not authenticated this long after its TCP accept (default 10000)',
  )
  .option('--auth-free-failures <n>', 'failed logins from one address answered at full speed (default 3)')
  .option(
    '--auth-delay <ms>',
    'then the time between attempts from that address, doubling at each failure (default 250; 0: no throttle)',
  )
  .option('--auth-max-delay <ms>', 'longest time between attempts from one address (default 5000)')
  .option('--max-bytes-before-auth <n>', 'bytes a client may send before it has authenticated (default 65536)')
  .option('--max-calls-per-client <n>', 'calls of one client not yet answered (default 1000)')
  .option('--max-pending-bytes <n>', 'bytes of arguments one client may have in flight (default 67108864)')
  .option('--max-registrations <n>', 'services one client may register through the gateway (default 32)')
  .option(
    '--max-reference-scan <n>',
    'work allowed to find object references in one message, in steps (default 1000000)',
  )
  .option(
    '--allow-origin <origin...>',
    'web pages of these origins may open the ws/wss listeners, e.g. https://app.example.com, or "*" (default: the gateway\'s own pages only)',
  )
  .option(
    '--ros-bridge <url>',
    'also serve ROS clients (rosbridge v2) on this ws:// URL; unauthenticated, see docs/bridges.md',
  )
  .option('--ros-allow <pattern...>', 'what the ROS bridges offer, e.g. "Calculator.*" (default: nothing)')
  .option(
    '--ros-graph <master_uri>',
    'also join the ROS 1 graph of this master (http://127.0.0.1:11311/) as a node; unauthenticated, see docs/bridges.md',
  )
  .option('--ros-subscribe <topic...>', 'ROS topics the --ros-graph node emits into qi (default: none)')
  .option(
    '--yarp <name_server>',
    'also offer qi members as YARP ports registered with this YARP name server (127.0.0.1:10000); unauthenticated, see docs/bridges.md',
  )
  .option('--yarp-allow <pattern...>', 'what the YARP bridge offers, e.g. "signal:Robot.*" (default: nothing)')
  .option(
    '--ros-call <service=type...>',
    'ROS services qi clients may call as methods of RosGraph: /add_two_ints=pkg/AddTwoInts (its .srv found in ROS_PACKAGE_PATH, /opt/ros/*/share, /usr/share) or /add_two_ints=FILE.srv (default: none)',
  )
  .option(
    '--insecure-unauthenticated',
    'required with --ros-bridge, --ros-graph and --yarp: anyone reaching them may use what their allowlist names',
  )
  .option('--allow-non-loopback', 'required for a --ros-bridge address other than loopback')
  .action(async (_o, cmd: Command) => (await import('./gateway.js')).gateway(globals(cmd) as GatewayVerbOptions));

program
  .command('xmpp-gateway')
  .description("make the robot behind an SD reachable through an XMPP server (log in as the robot's JID) until Ctrl-C")
  .option('--sd <url>', 'the internal ServiceDirectory (default: --url)')
  .option('--allow <jid...>', 'XMPP accounts that may open qi sessions', [])
  .option('--allow-group <name...>', "groups of the robot's roster whose contacts may open qi sessions", [])
  .option('--config <file>', 'users, tokens and permission rules, as for qi gateway')
  .option('--open', 'let every allowed JID use every service (no --config)')
  .option('--name <name>', "the robot's name in its presence (default: ALSystem.robotName(), else the JID's name)")
  .option('--model <model>', "the robot's model in its presence (default: NAOqi's RobotConfig/Body/Type)")
  .action(async (_o, cmd: Command) =>
    (await import('./xmpp.js')).xmppGateway(globals(cmd) as Parameters<typeof import('./xmpp.js').xmppGateway>[0]),
  );
program
  .command('xmpp-robots')
  .description('list the robots your XMPP account follows, online or not')
  .option('--follow <jid...>', 'ask to follow these robots (each approves the JIDs it allows)', [])
  .option('--group <name...>', 'also list the contacts of these roster groups, online or not', [])
  .option('--time <seconds>', 'how long to collect presences', '2')
  .action(async (_o, cmd: Command) =>
    (await import('./xmpp.js')).xmppRobots(globals(cmd) as Parameters<typeof import('./xmpp.js').xmppRobots>[0]),
  );

program
  .command('ros-bridge')
  .description(
    'serve allowlisted qi services to ROS tools over rosbridge v2 (JSON over WebSocket), UNAUTHENTICATED, until Ctrl-C',
  )
  .option('--sd <url>', 'the ServiceDirectory (default: --url)')
  .option('--listen <url>', 'WebSocket URL to listen on, ws://host:port[/path]', 'ws://127.0.0.1:9090')
  .option(
    '--allow <pattern...>',
    'what is bridged, e.g. "Calculator.*,method:ALTextToSpeech.say,serve:RosPlanner.*" (default: nothing)',
  )
  .option(
    '--insecure-unauthenticated',
    'required: acknowledge that anyone reaching the port may use what --allow names',
  )
  .option('--allow-non-loopback', 'required to listen on an address other than loopback')
  .option('--allow-origin <origin...>', 'web page origins allowed to connect (browsers), e.g. http://localhost:8000')
  .option('--prefix <prefix>', 'ROS name prefix of qi members', '/qi')
  .option('--call-timeout <ms>', 'longest wait for a qi method called from ROS (default 60000)')
  .option('--qi-listen <url>', 'where qi clients reach services served by ROS nodes (default tcp://127.0.0.1:0)')
  .action(async (_o, cmd: Command) =>
    (await import('./ros-bridge.js')).rosBridge(globals(cmd) as RosBridgeVerbOptions),
  );

// An unknown verb: one line with the closest verbs, not the whole help.
program.on('command:*', ([verb]: string[]) =>
  unknownVerb(
    verb,
    program.commands.map((c) => c.name()),
    program.opts().json === true,
  ),
);

await program.parseAsync();
