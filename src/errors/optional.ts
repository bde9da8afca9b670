/**
 * Packages that only some features need (XMPP, WebRTC, the classic web API) are optional dependencies of
 * qimessaging: they are loaded on first use, and a missing one is reported as a {@link QiError} that names
 * the feature, the package and the command that installs it.
 */
import { createRequire } from 'node:module';
import { QiError } from './index.js';

/** True when `e` says that `name` itself (not something else) could not be found. */
function isMissing(e: unknown, name: string): boolean {
  const code = (e as { code?: string })?.code;
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((e as Error).message).includes(name)
  );
}

/** The error for a feature whose package is not installed. */
export function missingPackage(feature: string, name: string, cause?: unknown): QiError {
  return new QiError('ERR_QI_CONFIG', `${feature} needs the package ${name}: npm install ${name}`, { cause });
}

/**
 * Imports the optional package `name` for `feature` (e.g. `'XMPP'`, `'@xmpp/client'`).
 * @throws {@link QiError} `ERR_QI_CONFIG` naming the package and how to install it, when it is missing.
 */
export async function importOptional<T>(feature: string, name: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    throw isMissing(e, name) ? missingPackage(feature, name, e) : e;
  }
}

/**
 * Resolves or requires the optional package `name` synchronously, for features that are set up in a
 * synchronous call (CommonJS packages, or files inside a package): `use` gets a `require` of this module.
 * @throws {@link QiError} `ERR_QI_CONFIG` naming the package and how to install it, when it is missing.
 */
export function requireOptional<T>(feature: string, name: string, use: (require: NodeJS.Require) => T): T {
  try {
    return use(createRequire(import.meta.url));
  } catch (e) {
    throw isMissing(e, name) ? missingPackage(feature, name, e) : e;
  }
}

/**
 * Imports the first of the packages that can serve `feature` which loads here (e.g. a native binding,
 * then a pure JavaScript fallback): one that is missing, or whose native binary does not load on this
 * platform, is skipped.
 * @throws {@link QiError} `ERR_QI_CONFIG` naming every package, when none loads.
 */
export async function importFirst<T>(feature: string, choices: { name: string; load: () => Promise<T> }[]): Promise<T> {
  const errors: unknown[] = [];
  for (const { load } of choices) {
    try {
      return await load();
    } catch (e) {
      errors.push(e);
    }
  }
  const names = choices.map((c) => c.name);
  return Promise.reject(
    new QiError(
      'ERR_QI_CONFIG',
      `${feature} needs one of the packages ${names.join(', ')}, and none loads here: npm install ${names.join(' or ')}`,
      { cause: new AggregateError(errors) },
    ),
  );
}
