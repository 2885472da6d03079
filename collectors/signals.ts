/**
 * An AbortSignal that aborts when any source does, released explicitly with `dispose()`. Node 20's
 * AbortSignal.any() keeps a record of every signal ever derived from a long-lived source (the
 * collector's stop signal, a target's), ~100 bytes per poll for as long as the process runs.
 */
export function linkedSignal(sources: AbortSignal[]): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const listeners: [AbortSignal, () => void][] = [];
  const dispose = () => {
    for (const [s, l] of listeners) s.removeEventListener('abort', l);
    listeners.length = 0;
  };
  for (const source of sources) {
    if (source.aborted) {
      dispose();
      controller.abort(source.reason);
      break;
    }
    const onAbort = () => {
      dispose();
      controller.abort(source.reason);
    };
    source.addEventListener('abort', onAbort, { once: true });
    listeners.push([source, onAbort]);
  }
  return { signal: controller.signal, dispose };
}
