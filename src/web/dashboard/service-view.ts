/// <reference lib="dom" />
/**
 * The detail pane of one service: what it is and where it lives, then its methods (left), its
 * properties and signals (right; watched while the pane is open). Built-in members are hidden.
 */
import { backendOf, type ServiceInfo, type Session } from '../browser/index.js';
import { h, replace } from './dom.js';
import { methodCard, propertyCard, signalCard } from './members.js';

/** Renders `name` into `pane`; resolves with the function that stops its subscriptions. */
export async function showService(
  session: Session,
  name: string,
  info: ServiceInfo | undefined,
  pane: HTMLElement,
): Promise<() => void> {
  replace(pane, h('div', { class: 'loading' }, `Loading ${name}…`));
  let proxy: unknown;
  try {
    proxy = await session.service(name, { timeoutMs: 10_000 });
  } catch (e) {
    replace(
      pane,
      h('h2', {}, name),
      h('div', { class: 'error', role: 'alert' }, `${(e as Error).name}: ${(e as Error).message}`),
    );
    return () => {};
  }
  const backend = backendOf(proxy)!;
  const meta = backend.type.metaObject;
  const user = <T extends { uid: number }>(m: Map<number, T>) =>
    [...m.values()].filter((x) => x.uid >= 100).sort((a, b) => a.uid - b.uid);
  const methods = user(meta.methods);
  const signals = user(meta.signals).filter((s) => !meta.properties.has(s.uid));
  const properties = user(meta.properties);
  const [signalCards, propertyCards] = await Promise.all([
    Promise.all(signals.map((s) => signalCard(backend, s))),
    Promise.all(properties.map((p) => propertyCard(backend, p))),
  ]);
  const section = (title: string, items: HTMLElement[]) =>
    items.length === 0
      ? []
      : [
          h(
            'div',
            { class: `members ${title.toLowerCase()}` },
            h('h3', { class: 'section' }, title, h('span', { class: 'count' }, String(items.length))),
            items,
          ),
        ];
  // Methods on the left, what changes by itself (properties, signals) on the right.
  const columns = [
    section(
      'Methods',
      methods.map((m) => methodCard(backend, m)),
    ),
    [
      ...section(
        'Properties',
        propertyCards.map((c) => c.element),
      ),
      ...section(
        'Signals',
        signalCards.map((c) => c.element),
      ),
    ],
  ].filter((c) => c.length > 0);
  replace(
    pane,
    h(
      'header',
      { class: 'service-head' },
      h('h2', {}, name, info ? h('span', { class: 'service-id' }, `#${info.serviceId}`) : null),
      meta.description ? h('p', { class: 'desc' }, meta.description) : null,
      info
        ? h(
            'dl',
            { class: 'facts' },
            h('dt', {}, 'Endpoints'),
            h(
              'dd',
              {},
              info.endpoints.map((e) => h('code', {}, e)),
            ),
            h('dt', {}, 'Machine'),
            h('dd', {}, h('code', {}, info.machineId)),
            h('dt', {}, 'Process'),
            h('dd', {}, String(info.processId)),
            h('dt', {}, 'Route'),
            h('dd', {}, h('code', {}, backend.route)),
          )
        : null,
    ),
    columns.length === 0
      ? h('p', { class: 'empty' }, 'This service has no methods, signals or properties of its own.')
      : null,
    h(
      'div',
      { class: `columns n${columns.length}` },
      columns.map((c) => h('div', { class: 'column' }, c)),
    ),
  );
  return () => {
    for (const c of [...signalCards, ...propertyCards]) void c.stop().catch(() => {});
  };
}
