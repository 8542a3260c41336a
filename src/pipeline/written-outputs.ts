/**
 * The output keys one attempt of a job has started writing, so a cancel can remove them. A key
 * is recorded before its upload begins and the upload is awaited before removal: parallel
 * uploads (an HLS ladder's segments) may still finish after the abort, and a removal that ran
 * first would miss them.
 */
export class WrittenOutputs {
  readonly #keys = new Set<string>();
  readonly #pending = new Set<Promise<unknown>>();

  /** Runs `upload` for `key`, remembering both. */
  track<T>(key: string, upload: () => Promise<T>): Promise<T> {
    this.#keys.add(key);
    const running = upload();
    this.#pending.add(running);
    const forget = () => this.#pending.delete(running);
    running.then(forget, forget);
    return running;
  }

  /** Every key started, once no upload is still running. */
  async settledKeys(): Promise<string[]> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    return [...this.#keys];
  }
}
