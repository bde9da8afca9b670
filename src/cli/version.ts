/** The version `qi --version` prints. */
import { readFileSync } from 'node:fs';

/** The version in this package's package.json, read at run time (from dist/src/cli/, three folders up). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string })
    .version;
}
