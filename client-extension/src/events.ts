// A minimal event emitter with VS Code's `Event` signature, so modules that fire events need no
// runtime import of "vscode" (and run under node's test runner).
import type { Disposable, Event } from "vscode";

export class Emitter<T> implements Disposable {
  private readonly listeners = new Set<(value: T) => unknown>();

  readonly event: Event<T> = (listener, thisArgs?, disposables?) => {
    const bound = (value: T): unknown => listener.call(thisArgs, value);
    this.listeners.add(bound);
    const subscription: Disposable = {
      dispose: () => {
        this.listeners.delete(bound);
      },
    };
    disposables?.push(subscription);
    return subscription;
  };

  /** Call every listener; resolves when the promises they return have (VS Code ignores them). */
  async fire(value: T): Promise<void> {
    await Promise.all([...this.listeners].map((listener) => listener(value)));
  }

  dispose(): void {
    this.listeners.clear();
  }
}
