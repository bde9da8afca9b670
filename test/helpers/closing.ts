/**
 * What a test opens, closed at its end: before the helpers' listeners close (after the file's tests), so
 * that no listener waits on a connection a test left open.
 */
import { afterEach } from 'node:test';

/** A list to push what a test opens onto; everything on it is closed after each test of the file. */
export function closedAfterEach(): { close(): unknown }[] {
  const list: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const c of list.splice(0)) await c.close();
  });
  return list;
}
