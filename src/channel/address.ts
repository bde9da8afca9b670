/** Message addresses and ids: what every message of a channel, typed or forwarded, is sent under. */

/** Where a message goes: service, object, action. */
export interface Address {
  service: number;
  object: number;
  action: number;
}

/** The header fields a message is sent with: its address, id, type and flags. */
export type SendFields = Address & { id: number; type: number; flags?: number };

let lastId = 0;
/** A new message id. One counter for the whole process, as libqi does: ids never repeat across sockets. */
export function newMessageId(): number {
  lastId = (lastId + 1) >>> 0 || 1;
  return lastId;
}
