/**
 * A call's timeout and cancellation, the same whether the call crosses a connection (`Channel.call`)
 * or goes into an object of this process (`InProcessBackend.call`): one timer, one abort listener, and
 * one wording of their errors.
 */
import { QiCanceledError, QiTimeoutError } from './errors.js';

/** What a call may ask for: a timeout and an AbortSignal (both fields of `CallOptions`). */
export interface GuardOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** Undoes what {@link guardCall} armed: clears the timer and removes the abort listener. */
export type Disarm = () => void;

/**
 * Arms the timeout and the abort listener a call asks for. `fail` gets a {@link QiTimeoutError}
 * (`<name> got no answer [from <peer>] within N ms.`) when the time is up, or a {@link QiCanceledError}
 * (`<name> was canceled.`, caused by the signal's reason) when the signal aborts; it may be called after
 * the call settled, and must then do nothing.
 * @param name the call as errors name it, e.g. `ALTextToSpeech.say`
 * @param peer who was asked (a URL), or undefined for a call in this process
 * @returns what disarms both, or undefined when the call asked for neither (most calls: nothing is made)
 */
export function guardCall(
  options: GuardOptions,
  name: string,
  peer: string | undefined,
  fail: (error: QiTimeoutError | QiCanceledError) => void,
): Disarm | undefined {
  const { signal, timeoutMs } = options;
  if (signal === undefined && timeoutMs === undefined) return undefined;
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(
          () =>
            fail(
              new QiTimeoutError(
                `${name} got no answer${peer === undefined ? '' : ` from ${peer}`} within ${timeoutMs} ms.`,
              ),
            ),
          timeoutMs,
        );
  const onAbort = signal === undefined ? undefined : () => fail(canceledError(name, signal.reason));
  if (onAbort !== undefined) signal!.addEventListener('abort', onAbort, { once: true });
  return () => {
    if (timer !== undefined) clearTimeout(timer);
    if (onAbort !== undefined) signal!.removeEventListener('abort', onAbort);
  };
}

/** The error of a call canceled here by an AbortSignal: `<name> was canceled.` */
export function canceledError(name: string, reason: unknown): QiCanceledError {
  return new QiCanceledError(`${name} was canceled.`, reason);
}
