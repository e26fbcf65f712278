import { closeSync, fsyncSync, openSync } from "node:fs";

/** fsync a file or a directory (a directory's fsync makes a rename in it durable). */
export function fsyncPath(path: string) {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
