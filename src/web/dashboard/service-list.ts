/// <reference lib="dom" />
/** The list of services on the left: filterable, live (services added and removed), the selected one marked. */
import type { ServiceInfo, Session } from '../browser/index.js';
import { h, replace } from './dom.js';

export class ServiceList {
  private services: ServiceInfo[] = [];
  private selected: string | undefined;
  private loads = 0;
  private readonly filter = h('input', {
    type: 'search',
    placeholder: 'Filter services',
    'aria-label': 'Filter services',
    oninput: () => this.render(),
  });
  private readonly list = h('ul', { class: 'services', role: 'list' });
  private readonly count = h('span', { class: 'count' });

  constructor(
    container: HTMLElement,
    private readonly onSelect: (name: string) => void,
  ) {
    replace(container, h('div', { class: 'list-head' }, h('h2', {}, 'Services '), this.count), this.filter, this.list);
  }

  /** Reloads the list from the session, or empties it when disconnected; the latest call wins. */
  async load(session: Session | undefined): Promise<void> {
    const mine = ++this.loads;
    const services = session ? (await session.services()).sort((a, b) => a.name.localeCompare(b.name)) : [];
    if (mine !== this.loads) return; // a later load (a reconnection, a disconnection) came meanwhile
    this.services = services;
    this.render();
  }

  /** The ServiceInfo of a listed service. */
  info(name: string): ServiceInfo | undefined {
    return this.services.find((s) => s.name === name);
  }

  select(name: string | undefined): void {
    this.selected = name;
    this.render();
  }

  private render(): void {
    const q = this.filter.value.trim().toLowerCase();
    const shown = this.services.filter((s) => s.name.toLowerCase().includes(q));
    this.count.textContent = String(this.services.length);
    replace(
      this.list,
      shown.map((s) =>
        h(
          'li',
          {},
          h(
            'a',
            {
              href: `#/${encodeURIComponent(s.name)}`,
              class: s.name === this.selected ? 'service selected' : 'service',
              'data-service': s.name,
              'aria-current': s.name === this.selected ? 'page' : undefined,
              onclick: () => this.onSelect(s.name),
            },
            h('span', { class: 'service-name' }, s.name),
            h('span', { class: 'service-id' }, `#${s.serviceId}`),
          ),
        ),
      ),
      shown.length === 0 ? h('li', { class: 'empty' }, this.services.length === 0 ? 'No services' : 'No match') : null,
    );
  }
}
