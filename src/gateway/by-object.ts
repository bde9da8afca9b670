/**
 * A table by (service id, object id) with numeric keys: no string is built to look an object up (the
 * gateway looks one up for every message it forwards), and everything of one service goes at once.
 */
export class ByObject<T> {
  private readonly services = new Map<number, Map<number, T>>();

  get(service: number, object: number): T | undefined {
    return this.services.get(service)?.get(object);
  }

  set(service: number, object: number, value: T): void {
    let objects = this.services.get(service);
    if (objects === undefined) this.services.set(service, (objects = new Map()));
    objects.set(object, value);
  }

  delete(service: number, object: number): void {
    const objects = this.services.get(service);
    if (objects === undefined) return;
    objects.delete(object);
    if (objects.size === 0) this.services.delete(service);
  }

  /** Removes every object of `service`. */
  deleteService(service: number): void {
    this.services.delete(service);
  }
}
