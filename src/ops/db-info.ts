// Facts about a database file that several operations report or decide by.

import type { Database } from "bun:sqlite";
import { existsSync, statSync } from "node:fs";

export interface PageInfo {
  pageSize: number;
  pageCount: number;
  freePages: number;
  autoVacuum: "none" | "full" | "incremental";
  journalMode: string;
}

export function pageInfo(db: Database): PageInfo {
  const one = <T>(pragma: string) => Object.values(db.query(`PRAGMA ${pragma}`).get() as Record<string, T>)[0]!;
  return {
    pageSize: one<number>("page_size"),
    pageCount: one<number>("page_count"),
    freePages: one<number>("freelist_count"),
    autoVacuum: (["none", "full", "incremental"] as const)[one<number>("auto_vacuum")] ?? "none",
    journalMode: one<string>("journal_mode"),
  };
}

/** Bytes of pages in use: about the size of a VACUUM INTO copy. */
export function livePageBytes(db: Database): number {
  const p = pageInfo(db);
  return (p.pageCount - p.freePages) * p.pageSize;
}

export function fileBytes(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

export { tableExists } from "../db/schema";
