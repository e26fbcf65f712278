// SQLite's defensive mode, switched for one connection from SQL. Bun opens every connection with
// it on, which forbids writing a virtual table's shadow tables; a first index's bulk load copies
// the search index that a worker thread built apart into messages_fts's shadow tables
// (src/archive/search-index-build.ts), with it off for that one transaction and on again after.
//
// Loading it (entry point sqlite3_defensive_init) registers, on the loading connection:
//   sluice_defensive(on)   sets SQLITE_DBCONFIG_DEFENSIVE to on (0 or 1); returns it as it now is

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_context sqlite3_context;
typedef struct sqlite3_value sqlite3_value;

// Positions in struct sqlite3_api_routines (sqlite3ext.h), as in checkpointer.c.
static void *const *api;
#define API(index, type) ((type)api[index])
#define sq_result_error API(80, void (*)(sqlite3_context *, const char *, int))
#define sq_result_int API(82, void (*)(sqlite3_context *, int))
#define sq_user_data API(101, void *(*)(sqlite3_context *))
#define sq_value_int API(106, int (*)(sqlite3_value *))
#define sq_create_function_v2                                                                       \
  API(162, int (*)(sqlite3 *, const char *, int, int, void *, void (*)(sqlite3_context *, int, sqlite3_value **), \
                   void *, void *, void (*)(void *)))
#define sq_db_config API(163, int (*)(sqlite3 *, int, ...))

#define SQLITE_OK 0
#define SQLITE_UTF8 1
#define SQLITE_DBCONFIG_DEFENSIVE 1010

static void fn_defensive(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  sqlite3 *db = sq_user_data(ctx);
  int now = -1;
  if (sq_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, sq_value_int(argv[0]) ? 1 : 0, &now) != SQLITE_OK) {
    sq_result_error(ctx, "sluice_defensive: sqlite3_db_config failed", -1);
    return;
  }
  sq_result_int(ctx, now);
}

int sqlite3_defensive_init(sqlite3 *db, char **error, const void *routines) {
  (void)error;
  api = routines;
  return sq_create_function_v2(db, "sluice_defensive", 1, SQLITE_UTF8, db, fn_defensive, 0, 0, 0);
}
