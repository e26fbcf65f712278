// Bun's Buffer has Node's fast slice decoders at run time; @types/node does not declare them.
export {};
declare global {
  interface Buffer {
    utf8Slice(start?: number, end?: number): string;
    latin1Slice(start?: number, end?: number): string;
  }
}
