// The daemon's periodic work, in one place so that shutdown stops all of it:
// each task runs every `ms` on the event loop (setInterval), and an exception
// in one is logged instead of ending the process or the other tasks.

export class Scheduler {
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #onError: (task: string, e: unknown) => void;

  constructor(onError: (task: string, e: unknown) => void) {
    this.#onError = onError;
  }

  every(name: string, ms: number, task: () => void): void {
    this.#timers.push(
      setInterval(() => {
        try {
          task();
        } catch (e) {
          this.#onError(name, e);
        }
      }, ms),
    );
  }

  stop(): void {
    for (const t of this.#timers.splice(0)) clearInterval(t);
  }
}
