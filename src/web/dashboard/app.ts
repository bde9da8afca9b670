/// <reference lib="dom" />
/**
 * The dashboard page: connection badge, service list, detail pane. It connects to the qi WebSocket
 * path of the gateway that served it (`?url=ws://…` to point it elsewhere), and follows `#/Service`.
 */
import { sameOriginUrl, type Session } from '../browser/index.js';
import { Connection, type ConnectionStatus } from './connection.js';
import { h, replace } from './dom.js';
import { ServiceList } from './service-list.js';
import { showService } from './service-view.js';

const byId = (id: string) => document.getElementById(id)!;
const statusEl = byId('status');
const detail = byId('detail');
const metaPath = document.querySelector<HTMLMetaElement>('meta[name="qi-path"]')?.content ?? '/qi';
const url = new URLSearchParams(location.search).get('url') ?? sameOriginUrl(metaPath.includes('%') ? '/qi' : metaPath);

let session: Session | undefined;
let stopView: () => void = () => {};
let viewToken = 0;

const list = new ServiceList(byId('services'), (name) => void show(name));
const connection = new Connection(url, renderStatus, (s) => void onSession(s));

function renderStatus(s: ConnectionStatus = connection.current): void {
  const label = { connecting: 'Connecting…', connected: 'Connected', disconnected: 'Disconnected' }[s.state];
  const retry = s.retryAt !== undefined ? Math.max(0, Math.ceil((s.retryAt - Date.now()) / 1000)) : undefined;
  statusEl.className = `status ${s.state}`;
  statusEl.dataset.state = s.state;
  replace(
    statusEl,
    h('span', { class: 'dot', 'aria-hidden': 'true' }),
    h('span', { class: 'label' }, label),
    h('code', { class: 'url' }, s.url),
    s.state === 'disconnected' && retry !== undefined ? h('span', { class: 'retry' }, `retrying in ${retry} s`) : null,
    s.state === 'disconnected'
      ? h('button', { type: 'button', onclick: () => void connection.connect() }, 'Reconnect now')
      : null,
    s.error && s.state !== 'connected' ? h('div', { class: 'why', title: s.error }, s.error) : null,
  );
  document.body.classList.toggle('offline', s.state !== 'connected');
}
setInterval(() => connection.current.state === 'disconnected' && renderStatus(), 1000);

async function onSession(s: Session | undefined): Promise<void> {
  session = s;
  if (s === undefined) {
    await list.load(undefined);
    return;
  }
  const reload = () => void list.load(s).catch(() => {});
  await s.serviceAdded.connect(reload).catch(() => {});
  await s.serviceRemoved
    .connect((_id, name) => {
      reload();
      if (name === current()) void show(name);
    })
    .catch(() => {});
  await list.load(s);
  void show(current());
}

function current(): string | undefined {
  const m = /^#\/(.+)$/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : undefined;
}

async function show(name: string | undefined): Promise<void> {
  const token = ++viewToken;
  stopView();
  stopView = () => {};
  list.select(name);
  if (session === undefined) return;
  if (name === undefined) {
    replace(
      detail,
      h(
        'div',
        { class: 'welcome' },
        h('h2', {}, 'Pick a service'),
        h(
          'p',
          {},
          'Its methods get a form from their signatures; its signals stream here and its properties update live.',
        ),
      ),
    );
    return;
  }
  const stop = await showService(session, name, list.info(name), detail);
  if (token === viewToken) stopView = stop;
  else stop();
}

window.addEventListener('hashchange', () => void show(current()));
renderStatus();
void connection.connect();
