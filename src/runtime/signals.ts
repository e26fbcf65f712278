// The stop signals: SIGTERM (a service manager, kill) and SIGINT (Ctrl-C) both ask for a clean stop.

/** SIGTERM and SIGINT call `stop`; returns the function that removes the handlers again. */
export function onStopSignals(stop: () => void): () => void {
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  return () => {
    process.off("SIGTERM", stop);
    process.off("SIGINT", stop);
  };
}
