// A SQLite extension whose only work is done when it loads: it tells the kernel that this process
// no longer needs the pages of its read-only file mappings (the executable, shared libraries).
//
// Why a SQLite extension: the live image runs without the JIT, and bun:ffi needs the JIT, but
// bun:sqlite's loadExtension() is a plain dlopen() and works without it. So this is the one way the
// JIT-less live tail can call madvise().
//
// Why these two advices, on a compiled sluice: starting up touches about 30 MB of the 100 MB
// executable, most of it never run again by the live tail, yet counted in its RSS.
//   MADV_RANDOM   later faults map the one page they need: no fault-around, no readahead, which on
//                 a kernel with large page-cache folios would map whole folios back in.
//   MADV_DONTNEED on code: unmap its pages now; they stay in the page cache, and a page still in
//                 use faults back in from there.
//   MADV_PAGEOUT  (Linux 5.4+) on read-only data: reclaim the pages now. They are clean file
//                 pages, so nothing is lost. Pages shared with other processes stay.
// Errors (an older kernel, a mapping that went away) are ignored: the pages just stay.
//
// No libc: raw system calls only (syscalls.h). Built by build.ts into the native extension
// embedded in the executable; loaded by src/ingest/memory.ts.

#include "syscalls.h"

#define AT_FDCWD -100
#define MADV_RANDOM 1
#define MADV_DONTNEED 4
#define MADV_PAGEOUT 21

static u64 parse_hex(const char **p) {
  u64 v = 0;
  for (;; (*p)++) {
    char c = **p;
    if (c >= '0' && c <= '9') v = v * 16 + (u64)(c - '0');
    else if (c >= 'a' && c <= 'f') v = v * 16 + (u64)(c - 'a' + 10);
    else return v;
  }
}

// One line of /proc/self/maps: "start-end perms offset dev inode [path]".
static void release_mapping(const char *p, const char *end) {
  u64 start = parse_hex(&p);
  if (*p++ != '-') return;
  u64 stop = parse_hex(&p);
  if (*p++ != ' ' || end - p < 4) return;
  int writable = p[1] == 'w', executable = p[2] == 'x';
  int spaces = 0;
  while (p < end && spaces < 3) if (*p++ == ' ') spaces++; // past perms, offset and dev
  u64 inode = 0;
  while (p < end && *p >= '0' && *p <= '9') inode = inode * 10 + (u64)(*p++ - '0');
  if (writable || inode == 0 || stop <= start) return; // anonymous memory or data: never
  syscall4(SYS_MADVISE, (long)start, (long)(stop - start), MADV_RANDOM, 0);
  // Code is never written (no text relocations), so its pages can simply be unmapped: they stay in
  // the page cache, and this works where another process maps the same executable (a second sluice
  // service, a restart), which MADV_PAGEOUT skips. Read-only data may hold pages written once and
  // then protected (relocations): only PAGEOUT is safe for those.
  syscall4(SYS_MADVISE, (long)start, (long)(stop - start), executable ? MADV_DONTNEED : MADV_PAGEOUT, 0);
}

int sqlite3_releasepages_init(void *db, char **error, const void *api) {
  (void)db, (void)error, (void)api;
  static char buf[8192];
  long fd = syscall4(SYS_OPENAT, AT_FDCWD, (long)"/proc/self/maps", 0, 0);
  if (fd < 0) return 0;
  long held = 0;
  for (;;) {
    long n = syscall4(SYS_READ, fd, (long)(buf + held), (long)sizeof buf - held, 0);
    if (n <= 0) break;
    held += n;
    char *line = buf, *nl;
    for (;;) {
      for (nl = line; nl < buf + held && *nl != '\n'; nl++) {}
      if (nl == buf + held) break;
      release_mapping(line, nl);
      line = nl + 1;
    }
    // keep the partial last line; a line longer than the buffer (a very long path) is dropped
    long rest = buf + held - line;
    if (rest == (long)sizeof buf) rest = 0;
    for (long i = 0; i < rest; i++) buf[i] = line[i];
    held = rest;
  }
  syscall4(SYS_CLOSE, fd, 0, 0, 0);
  return 0; // SQLITE_OK
}
