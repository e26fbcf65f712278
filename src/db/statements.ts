// Prepared statements made on first use. A writer holds a few dozen statements for every kind of
// change, and a run that finds nothing changed uses none of them: preparing them all up front was
// 4 ms of a 50 ms re-index of an unchanged tree. After its first use a statement is a plain
// property, so the hot paths pay nothing for this.

import type { Database, Statement } from "bun:sqlite";

/** An object with one statement per key of `sql`, each prepared when it is first read. */
export function lazyStatements<K extends string>(db: Database, sql: Record<K, string>): Readonly<Record<K, Statement>> {
  const out = {} as Record<K, Statement>;
  for (const [key, text] of Object.entries(sql) as Array<[K, string]>) {
    Object.defineProperty(out, key, {
      configurable: true,
      enumerable: true,
      get() {
        const statement = db.prepare(text);
        Object.defineProperty(out, key, { value: statement, enumerable: true });
        return statement;
      },
    });
  }
  return out;
}
