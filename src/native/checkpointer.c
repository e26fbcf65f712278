// The live tail's WAL checkpoints, in a thread of their own.
//
// Why: a checkpoint copies the WAL into the database file and ends in an fsync. Run by the writer
// (wal_autocheckpoint), the commit that sets it off waits 40-135 ms, and so does every line
// appended meanwhile: that was most of the tail's p99 append-to-commit latency. Here the writer's
// WAL hook only wakes a thread, which runs a PASSIVE checkpoint (it never waits for the writer or a
// reader) on a connection of its own, while the writer goes on committing into the WAL.
//
// The bound on the WAL stays: a checkpoint that overlaps a commit cannot fold back the frames that
// commit wrote, so the WAL only starts over once a checkpoint finishes between two commits. If
// that keeps failing to happen and the WAL reaches four times the threshold, the writer runs one
// checkpoint itself, as wal_autocheckpoint would have.
//
// Loading it (entry point sqlite3_checkpointer_init) registers, on the loading connection:
//   sluice_checkpointer_start(pages)  open the second connection, start the thread, and set the
//                                     hook: a checkpoint whenever the WAL holds >= pages frames
//   sluice_checkpointer_stats()       {"checkpoints":..,"busy":..,"inline":..,"longestMs":..,"totalMs":..}
//   sluice_checkpointer_stop()        stop and join the thread, and return the stats
// Closing the connection stops the thread too (the functions' destructor runs before SQLite
// unloads this library).
//
// The SQLite API comes through the routines table SQLite hands every extension; threads come
// from the process's libc (glibc or musl alike, resolved when the library is loaded): a thread
// made with a raw clone() would share the main thread's thread-local storage, which neither libc
// nor SQLite survives.

#include "syscalls.h"

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_context sqlite3_context;
typedef struct sqlite3_value sqlite3_value;
typedef long long i64;

typedef unsigned long pthread_t;
extern int pthread_create(pthread_t *, const void *, void *(*)(void *), void *);
extern int pthread_join(pthread_t, void **);

// Positions in struct sqlite3_api_routines (sqlite3ext.h). SQLite only ever appends to that
// table, so the positions are the same in every version that has the routine.
static void *const *api;
#define API(index, type) ((type)api[index])
#define sq_busy_timeout API(14, int (*)(sqlite3 *, int))
#define sq_close API(16, int (*)(sqlite3 *))
#define sq_errmsg API(53, const char *(*)(sqlite3 *))
#define sq_exec API(55, int (*)(sqlite3 *, const char *, void *, void *, char **))
#define sq_free API(58, void (*)(void *))
#define sq_malloc API(68, void *(*)(int))
#define sq_result_error API(80, void (*)(sqlite3_context *, const char *, int))
#define sq_result_text API(85, void (*)(sqlite3_context *, const char *, int, void (*)(void *)))
#define sq_user_data API(101, void *(*)(sqlite3_context *))
#define sq_value_int API(106, int (*)(sqlite3_value *))
#define sq_open_v2 API(135, int (*)(const char *, sqlite3 **, int, const char *))
#define sq_create_function_v2                                                                       \
  API(162, int (*)(sqlite3 *, const char *, int, int, void *, void (*)(sqlite3_context *, int, sqlite3_value **), \
                   void *, void *, void (*)(void *)))
#define sq_wal_hook API(175, void *(*)(sqlite3 *, int (*)(void *, sqlite3 *, const char *, int), void *))
#define sq_db_filename API(180, const char *(*)(sqlite3 *, const char *))
#define sq_wal_checkpoint_v2 API(191, int (*)(sqlite3 *, const char *, int, int *, int *))

#define SQLITE_OK 0
#define SQLITE_BUSY 5
#define SQLITE_UTF8 1
#define SQLITE_OPEN_READWRITE 0x2
#define SQLITE_OPEN_FULLMUTEX 0x10000
#define SQLITE_CHECKPOINT_PASSIVE 0
#define SQLITE_TRANSIENT ((void (*)(void *)) - 1)

#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129
#define CLOCK_MONOTONIC 1

struct checkpointer {
  sqlite3 *writer;
  sqlite3 *own; // the thread's connection
  int pages;
  int running;
  pthread_t thread;
  int wake; // futex word: 1 when a checkpoint is due or the thread is to stop
  int stop;
  // figures: written by the thread, read by the stats function (a torn read only blurs a figure)
  i64 checkpoints, busy, inline_checkpoints;
  u64 longest_ns, total_ns;
};

static u64 now_ns(void) {
  long ts[2] = {0, 0};
  syscall4(SYS_CLOCK_GETTIME, CLOCK_MONOTONIC, (long)ts, 0, 0);
  return (u64)ts[0] * 1000000000u + (u64)ts[1];
}

static void wake(struct checkpointer *c) {
  __atomic_store_n(&c->wake, 1, __ATOMIC_SEQ_CST);
  syscall4(SYS_FUTEX, (long)&c->wake, FUTEX_WAKE_PRIVATE, 1, 0);
}

static void *run(void *arg) {
  struct checkpointer *c = arg;
  for (;;) {
    while (__atomic_load_n(&c->wake, __ATOMIC_SEQ_CST) == 0 && !__atomic_load_n(&c->stop, __ATOMIC_SEQ_CST))
      syscall4(SYS_FUTEX, (long)&c->wake, FUTEX_WAIT_PRIVATE, 0, 0);
    if (__atomic_load_n(&c->stop, __ATOMIC_SEQ_CST)) break;
    u64 start = now_ns();
    int frames = -1, copied = -1;
    int rc = sq_wal_checkpoint_v2(c->own, "main", SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
    u64 took = now_ns() - start;
    if (rc == SQLITE_OK) c->checkpoints++;
    else c->busy++; // another checkpoint (the tail's quiet-time TRUNCATE) held the lock: the next commit retries
    c->total_ns += took;
    if (took > c->longest_ns) c->longest_ns = took;
    __atomic_store_n(&c->wake, 0, __ATOMIC_SEQ_CST);
  }
  return 0;
}

// Runs in the writer, after each commit, with the WAL's size in frames.
static int on_commit(void *arg, sqlite3 *db, const char *schema, int frames) {
  struct checkpointer *c = arg;
  if (frames >= 4 * c->pages) {
    // Every background checkpoint overlapped a commit: fold the WAL back here, with no writer in
    // the way, so that it starts over.
    int ignored_frames, ignored_copied;
    if (sq_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, &ignored_frames, &ignored_copied) == SQLITE_OK) c->inline_checkpoints++;
  } else if (frames >= c->pages && __atomic_load_n(&c->wake, __ATOMIC_SEQ_CST) == 0) {
    wake(c);
  }
  return SQLITE_OK;
}

static void stop(struct checkpointer *c) {
  if (!c->running) return;
  sq_wal_hook(c->writer, 0, 0);
  __atomic_store_n(&c->stop, 1, __ATOMIC_SEQ_CST);
  wake(c);
  pthread_join(c->thread, 0);
  sq_close(c->own);
  c->own = 0;
  c->running = 0;
}

static char *put_int(char *p, u64 v) {
  char digits[24];
  int n = 0;
  do digits[n++] = (char)('0' + v % 10), v /= 10;
  while (v);
  while (n) *p++ = digits[--n];
  return p;
}

static char *put_str(char *p, const char *s) {
  while (*s) *p++ = *s++;
  return p;
}

static void result_stats(sqlite3_context *ctx, struct checkpointer *c) {
  char out[256], *p = out;
  p = put_str(p, "{\"checkpoints\":"), p = put_int(p, (u64)c->checkpoints);
  p = put_str(p, ",\"busy\":"), p = put_int(p, (u64)c->busy);
  p = put_str(p, ",\"inline\":"), p = put_int(p, (u64)c->inline_checkpoints);
  p = put_str(p, ",\"longestMs\":"), p = put_int(p, c->longest_ns / 1000000);
  p = put_str(p, ",\"totalMs\":"), p = put_int(p, c->total_ns / 1000000);
  p = put_str(p, "}");
  sq_result_text(ctx, out, (int)(p - out), SQLITE_TRANSIENT);
}

static void fn_start(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  struct checkpointer *c = sq_user_data(ctx);
  (void)argc;
  if (c->running) return sq_result_error(ctx, "the background checkpointer is already running", -1);
  int pages = sq_value_int(argv[0]);
  if (pages < 1) return sq_result_error(ctx, "sluice_checkpointer_start(pages): pages must be at least 1", -1);
  const char *path = sq_db_filename(c->writer, "main");
  if (!path || !*path) return sq_result_error(ctx, "the background checkpointer needs a database file, not an in-memory database", -1);
  sqlite3 *own = 0;
  if (sq_open_v2(path, &own, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, 0) != SQLITE_OK) {
    sq_result_error(ctx, own ? sq_errmsg(own) : "out of memory", -1);
    if (own) sq_close(own);
    return;
  }
  // A small cache (a checkpoint copies frames without it), no mmap (its pages would count in RSS),
  // and a first read, which is what opens the WAL on this connection.
  if (sq_exec(own, "PRAGMA cache_size = 16; PRAGMA mmap_size = 0; SELECT count(*) FROM sqlite_schema", 0, 0, 0) != SQLITE_OK) {
    sq_result_error(ctx, sq_errmsg(own), -1);
    sq_close(own);
    return;
  }
  sq_busy_timeout(own, 0);
  c->own = own;
  c->pages = pages;
  c->wake = 0;
  c->stop = 0;
  if (pthread_create(&c->thread, 0, run, c) != 0) {
    sq_close(own);
    c->own = 0;
    return sq_result_error(ctx, "could not start the background checkpoint thread", -1);
  }
  c->running = 1;
  sq_wal_hook(c->writer, on_commit, c); // replaces wal_autocheckpoint's hook
  result_stats(ctx, c);
}

static void fn_stats(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc, (void)argv;
  result_stats(ctx, sq_user_data(ctx));
}

static void fn_stop(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  struct checkpointer *c = sq_user_data(ctx);
  (void)argc, (void)argv;
  stop(c);
  result_stats(ctx, c);
}

static void on_close(void *arg) {
  stop(arg);
  sq_free(arg);
}

int sqlite3_checkpointer_init(sqlite3 *db, char **error, const void *routines) {
  (void)error;
  api = routines;
  struct checkpointer *c = sq_malloc((int)sizeof *c);
  if (!c) return 7; // SQLITE_NOMEM
  for (unsigned long i = 0; i < sizeof *c; i++) ((char *)c)[i] = 0;
  c->writer = db;
  int rc = sq_create_function_v2(db, "sluice_checkpointer_start", 1, SQLITE_UTF8, c, fn_start, 0, 0, 0);
  if (rc == SQLITE_OK) rc = sq_create_function_v2(db, "sluice_checkpointer_stats", 0, SQLITE_UTF8, c, fn_stats, 0, 0, 0);
  // The destructor hangs on the last function, so it runs once, when the connection closes; if
  // registering it failed, it ran already (SQLite calls it on failure too).
  if (rc == SQLITE_OK) rc = sq_create_function_v2(db, "sluice_checkpointer_stop", 0, SQLITE_UTF8, c, fn_stop, 0, 0, on_close);
  else sq_free(c);
  return rc;
}
