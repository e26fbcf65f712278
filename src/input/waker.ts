// A sleep that something else can cut short: a file-system event, new data, a signal.

export class Waker {
  private wakeUp: (() => void) | null = null;
  private pending = false;

  /** Resolves on the next `wake()` (or at once if one came since the last wait), or after `ms`. */
  async wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeUp = null;
    this.pending = false;
  }

  wake() {
    this.pending = true;
    this.wakeUp?.();
  }
}
