/**
 * One AbortSignal per job that fires for whichever comes first: the message's own signal
 * (shutdown, visibility limit), the processing timeout, or a cancel request. The reason string
 * says which, so the runner records the right error category.
 */
export interface JobSignal {
  signal: AbortSignal;
  cancel(): void;
  dispose(): void;
}

export function createJobSignal(messageSignal: AbortSignal, timeoutMs: number): JobSignal {
  const controller = new AbortController();
  const onMessageAbort = () => controller.abort(messageSignal.reason);
  if (messageSignal.aborted) onMessageAbort();
  else messageSignal.addEventListener("abort", onMessageAbort, { once: true });
  const timer = setTimeout(() => controller.abort("timeout"), timeoutMs);
  timer.unref();
  return {
    signal: controller.signal,
    cancel: () => controller.abort("cancelled"),
    dispose: () => {
      clearTimeout(timer);
      messageSignal.removeEventListener("abort", onMessageAbort);
    },
  };
}
