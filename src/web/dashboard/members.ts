/// <reference lib="dom" />
/**
 * The cards of a service's members: a method with its generated form and its last result or error,
 * a signal with its live stream (timestamped, bounded), a property with its live value and a field to
 * set it.
 */
import {
  parseSignature,
  shortestFloat32,
  type MetaMethod,
  type MetaProperty,
  type MetaSignal,
  type ObjectBackend,
} from '../browser/index.js';
import { clock, h, replace } from './dom.js';
import { formatShort, formatValue, imageOf } from './format.js';
import { fieldFor, parameters } from './inputs.js';

/** Most emissions kept per signal stream. */
export const STREAM_LIMIT = 50;

let ids = 0;

/** A float32 as it was written (0.8, not 0.800000011920929). */
export function tidy(v: unknown, signature: string): unknown {
  return signature === 'f' && typeof v === 'number' ? shortestFloat32(v) : v;
}

/** One line for an error: its class, then its message. */
function errorText(e: unknown): string {
  const err = e as Error;
  return err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(e);
}

function errorBox(e: unknown): HTMLElement {
  return h('div', { class: 'error', role: 'alert' }, errorText(e));
}

/** A method's card: form from its parameters, Call, then the result (or error) with the time it took. */
export function methodCard(backend: ObjectBackend, m: MetaMethod): HTMLElement {
  const fields = parameters(m.parametersSignature).map((sig, i) =>
    fieldFor(sig, m.parameters[i]?.name || `arg${i + 1}`, `f${++ids}`),
  );
  const result = h('div', { class: 'result', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Call');
  const form = h(
    'form',
    {
      class: 'call',
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        let args: unknown[];
        try {
          args = fields.map((f) => f.read());
        } catch (e) {
          return replace(result, errorBox(e));
        }
        button.disabled = true;
        result.classList.add('pending');
        const started = performance.now();
        try {
          const value = tidy(await backend.call(m.name, args, { timeoutMs: 60_000 }), m.returnSignature);
          const took = Math.round(performance.now() - started);
          const picture = imageOf(value);
          replace(
            result,
            h(
              'div',
              { class: 'ok' },
              h('div', { class: 'meta' }, `${clock()} · ${took} ms`),
              picture ?? null,
              h('pre', { class: 'value' }, formatValue(value)),
            ),
          );
        } catch (e) {
          replace(result, errorBox(e));
        } finally {
          button.disabled = false;
          result.classList.remove('pending');
        }
      },
    },
    fields.map((f) => f.element),
    h('div', { class: 'actions' }, button),
  );
  return h(
    'section',
    { class: 'card method', 'data-method': m.name, 'data-uid': m.uid },
    h(
      'header',
      {},
      h('span', { class: 'kind' }, 'method'),
      h('h3', {}, m.name),
      h('code', { class: 'sig' }, `${m.parametersSignature} → ${m.returnSignature}`),
    ),
    m.description ? h('p', { class: 'desc' }, m.description) : null,
    form,
    result,
  );
}

/** A signal's card and its live stream; returns the card and the function that stops it. */
export async function signalCard(
  backend: ObjectBackend,
  s: MetaSignal,
): Promise<{ element: HTMLElement; stop: () => Promise<void> }> {
  const stream = h('ol', { class: 'stream', reversed: true });
  const count = h('span', { class: 'badge' }, '0');
  let n = 0;
  let paused = false;
  const pause = h(
    'button',
    { type: 'button', onclick: () => ((paused = !paused), (pause.textContent = paused ? 'Resume' : 'Pause')) },
    'Pause',
  );
  const clear = h('button', { type: 'button', onclick: () => stream.replaceChildren() }, 'Clear');
  const element = h(
    'section',
    { class: 'card signal', 'data-signal': s.name, 'data-uid': s.uid },
    h(
      'header',
      {},
      h('span', { class: 'kind' }, 'signal'),
      h('h3', {}, s.name),
      h('code', { class: 'sig' }, s.signature),
      count,
      h('span', { class: 'tools' }, pause, clear),
    ),
    stream,
  );
  const placeholder = h('li', { class: 'empty' }, 'Waiting for the first emission…');
  stream.append(placeholder);
  let stop: () => Promise<void> = async () => {};
  try {
    stop = await backend.subscribe(s.name, (args) => {
      count.textContent = String(++n);
      if (paused) return;
      placeholder.remove();
      const value = args.length === 1 ? args[0] : args;
      stream.prepend(h('li', { class: 'fresh' }, h('time', {}, clock()), h('code', {}, formatShort(value))));
      while (stream.children.length > STREAM_LIMIT) stream.lastElementChild!.remove();
    });
  } catch (e) {
    replace(stream, h('li', {}, errorBox(e)));
  }
  return { element, stop };
}

/** A property's card: its value, updated live, and a field to set it. */
export async function propertyCard(
  backend: ObjectBackend,
  p: MetaProperty,
): Promise<{ element: HTMLElement; stop: () => Promise<void> }> {
  const value = h('output', { class: 'value' }, '…');
  const updated = h('span', { class: 'meta' });
  const status = h('div', { class: 'result', 'aria-live': 'polite' });
  const field = fieldFor(parseSignature(p.signature), 'new value', `f${++ids}`);
  const show = (v: unknown, live: boolean) => {
    value.textContent = formatShort(v);
    value.classList.remove('flash');
    if (live) {
      void value.offsetWidth; // restart the animation
      value.classList.add('flash');
    }
    updated.textContent = `${live ? 'changed' : 'read'} ${clock()}`;
  };
  const form = h(
    'form',
    {
      class: 'set',
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        try {
          await backend.setProperty(p.name, field.read());
          replace(status);
        } catch (e) {
          replace(status, errorBox(e));
        }
      },
    },
    field.element,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Set')),
  );
  const element = h(
    'section',
    { class: 'card property', 'data-property': p.name, 'data-uid': p.uid },
    h(
      'header',
      {},
      h('span', { class: 'kind' }, 'property'),
      h('h3', {}, p.name),
      h('code', { class: 'sig' }, p.signature),
    ),
    h('div', { class: 'current' }, value, updated),
    form,
    status,
  );
  let stop: () => Promise<void> = async () => {};
  try {
    stop = await backend.subscribe(p.name, (args) => show(tidy(args[0], p.signature), true));
    const v = tidy(await backend.getProperty(p.name), p.signature);
    show(v, false);
    field.write(v);
  } catch (e) {
    replace(status, errorBox(e));
  }
  return { element, stop };
}
