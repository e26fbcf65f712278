// Extracts the top-level fields of one `sse_lines.jsonl` envelope line (../shared/spec/sse-envelope.md).
//
// Two paths, one contract: the values equal what `JSON.parse` gives, mapped to SQL by `toSqlValue`.
// - The fast path scans the bytes once and never builds the big `line` string. It is conservative:
//   whenever it meets something it does not handle (an escaped key, a nested value on a known key, a
//   byte it does not expect) it hands the line to the slow path instead of guessing.
// - The slow path is `JSON.parse` itself, so it is right by construction, and it alone decides
//   whether a line is rejected. Only hostile or unusual lines take it.

export type SqlValue = string | number | bigint | null;

/** The extracted columns of one accepted line. One instance is reused for every line. */
export interface EnvelopeFields {
  t: SqlValue;
  source: SqlValue;
  sid: SqlValue;
  flow_id: SqlValue;
  round: SqlValue;
  event: SqlValue;
  meta_pid: SqlValue;
  meta_cwd: SqlValue;
  meta_turn_id: SqlValue;
}

export type RejectReason = "not UTF-8" | "not JSON" | "not a JSON object";

/**
 * `line` and `metadata` as JSON.parse gives them, for the few lines where SQLite's `->>` on the raw
 * line would not (duplicate keys: SQLite takes the first, JSON.parse the last; escaped keys;
 * non-string values). Null for every other line, which the view decodes on read.
 */
export interface DecodedCopy {
  line: SqlValue;
  metadata: SqlValue;
}

export function newFields(): EnvelopeFields {
  return { t: null, source: null, sid: null, flow_id: null, round: null, event: null, meta_pid: null, meta_cwd: null, meta_turn_id: null };
}

/** How a JSON value becomes a SQL value: the same mapping as SQLite's own `json_extract`. */
export function toSqlValue(v: unknown): SqlValue {
  switch (typeof v) {
    case "string":
      return v;
    case "number":
      // Integral values outside the safe range would bind as REAL; a BigInt keeps them INTEGER.
      return Number.isInteger(v) && !Number.isSafeInteger(v) && Math.abs(v) < 9.2e18 ? BigInt(v) : v;
    case "boolean":
      return v ? 1 : 0;
    case "object":
      return v === null ? null : JSON.stringify(v);
    default:
      return null;
  }
}

// Byte values used by the scanner.
const QUOTE = 0x22, BACKSLASH = 0x5c, LBRACE = 0x7b, RBRACE = 0x7d, LBRACKET = 0x5b, COMMA = 0x2c, COLON = 0x3a;
const SPACE = 0x20, TAB = 0x09, CR = 0x0d, LF = 0x0a, MINUS = 0x2d, PLUS = 0x2b, DOT = 0x2e, ZERO = 0x30, NINE = 0x39;

// Top-level keys we extract, identified by length and bytes.
const K_OTHER = 0, K_T = 1, K_SOURCE = 2, K_SID = 3, K_FLOW = 4, K_ROUND = 5, K_EVENT = 6, K_META = 7, K_LINE = 8;

/** Thrown inside the fast path to hand the line to `JSON.parse`. Never escapes this module. */
const FALLBACK = -1;

interface MetaFields {
  pid: SqlValue;
  cwd: SqlValue;
  turn: SqlValue;
}
const NO_META: MetaFields = { pid: null, cwd: null, turn: null };

/**
 * Reads envelope lines out of byte buffers. It holds small caches (decoded metadata per distinct
 * string) so one instance serves one stream of lines.
 */
export class EnvelopeExtractor {
  readonly fields: EnvelopeFields = newFields();
  /**
   * Whether to extract with JSON.parse rather than the byte scanner. Without the JIT (the live
   * image) the scanner runs in the interpreter at about 40,000 lines/s; native JSON.parse does
   * about 500,000. With the JIT the scanner is the faster one and makes less garbage.
   */
  constructor(private readonly useJsonParse = jitDisabled()) {}
  /** Lines that needed the `JSON.parse` path: a measure of how hostile the input is. */
  slowPathLines = 0;
  /** Set for the last accepted line when the view cannot decode it from the raw line. */
  decoded: DecodedCopy | null = null;
  private metaCache = new Map<string, MetaFields>();
  private lastMeta = new RepeatCache<MetaFields>();
  private repeats: RepeatCache<string>[] = Array.from({ length: K_LINE + 1 }, () => new RepeatCache<string>());
  private utf8 = new TextDecoder("utf-8", { fatal: true });

  /**
   * Extracts the fields of buf[start, end) into `this.fields`. The caller has already checked the
   * bytes are UTF-8 (it does so a whole chunk at a time). Returns null when accepted.
   */
  extract(buf: Buffer, start: number, end: number): RejectReason | null {
    this.decoded = null;
    // A long line goes to the scanner even then: JSON.parse would build strings of its size.
    if (this.useJsonParse && end - start <= PARSE_MAX_BYTES) return this.parsed(buf, start, end);
    const r = this.fast(buf, start, end);
    if (r === 0) return null;
    this.slowPathLines++;
    return this.slow(buf, start, end);
  }

  /** Checks UTF-8 and extracts; for callers that have not validated the bytes. */
  extractChecked(buf: Buffer, start: number, end: number): RejectReason | null {
    try {
      this.utf8.decode(buf.subarray(start, end));
    } catch {
      return "not UTF-8";
    }
    return this.extract(buf, start, end);
  }

  // Returns 0 when the line was extracted, FALLBACK when `JSON.parse` must decide.
  private fast(b: Buffer, start: number, end: number): number {
    const f = this.fields;
    f.t = f.source = f.sid = f.flow_id = f.round = f.event = null;
    let metaStart = -1, metaEnd = -1, metaEscaped = false, lineSeen = false;
    let p = ws(b, start, end);
    if (p >= end || b[p] !== LBRACE) return FALLBACK;
    p = ws(b, p + 1, end);
    if (p < end && b[p] === RBRACE) {
      p = ws(b, p + 1, end);
      if (p !== end) return FALLBACK;
      this.setMeta(NO_META);
      return 0;
    }
    for (;;) {
      // key
      if (p >= end || b[p] !== QUOTE) return FALLBACK;
      const ks = p + 1;
      let q = ks;
      for (; q < end; q++) {
        const c = b[q];
        if (c === QUOTE) break;
        if (c === BACKSLASH || c < SPACE) return FALLBACK; // escaped or invalid keys: let JSON.parse judge
      }
      if (q >= end) return FALLBACK;
      const key = keyId(b, ks, q - ks);
      p = ws(b, q + 1, end);
      if (p >= end || b[p] !== COLON) return FALLBACK;
      p = ws(b, p + 1, end);
      if (p >= end) return FALLBACK;
      // value
      const c = b[p];
      if (c === QUOTE) {
        const stop = scanString(b, p + 1, end); // index of the closing quote
        if (stop < 0) return FALLBACK;
        const escaped = lastStringEscaped;
        if (key === K_LINE) {
          if (lineSeen) return FALLBACK; // duplicate: only JSON.parse's last-wins can say
          lineSeen = true;
        } else if (key !== K_OTHER) {
          if (key === K_META) {
            if (metaStart >= 0) return FALLBACK;
            metaStart = p;
            metaEnd = stop + 1;
            metaEscaped = escaped;
          } else setField(f, key, this.stringValue(key, b, p, stop + 1, escaped));
        }
        p = stop + 1;
      } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
        const ne = scanNumber(b, p, end);
        if (ne < 0) return FALLBACK;
        if (key === K_META || key === K_LINE) return FALLBACK; // non-string: needs a decoded copy
        if (key !== K_OTHER) setField(f, key, toSqlValue(Number(b.latin1Slice(p, ne))));
        p = ne;
      } else if (c === 0x74 /* t */ || c === 0x66 /* f */ || c === 0x6e /* n */) {
        const le = scanLiteral(b, p, end);
        if (le < 0) return FALLBACK;
        if (key === K_META || key === K_LINE) return FALLBACK;
        if (key !== K_OTHER) setField(f, key, c === 0x74 ? 1 : c === 0x66 ? 0 : null);
        p = le;
      } else if ((c === LBRACE || c === LBRACKET) && key === K_OTHER) {
        const ce = skipComposite(b, p, end);
        if (ce < 0) return FALLBACK;
        p = ce;
      } else return FALLBACK;
      p = ws(b, p, end);
      if (p >= end) return FALLBACK;
      const sep = b[p];
      if (sep === COMMA) {
        p = ws(b, p + 1, end);
        continue;
      }
      if (sep !== RBRACE) return FALLBACK;
      if (ws(b, p + 1, end) !== end) return FALLBACK;
      break;
    }
    this.setMeta(metaStart < 0 ? NO_META : this.metaFromJsonString(b, metaStart, metaEnd, metaEscaped));
    return 0;
  }

  // The decoded value of the string literal b[s, e) (quotes included) on a known key.
  private stringValue(key: number, b: Buffer, s: number, e: number, escaped: boolean): string {
    const decode = () => (escaped ? (JSON.parse(b.utf8Slice(s, e)) as string) : plainString(b, s + 1, e - 1));
    // timestamps differ on every line, so a cache would only add a compare
    if (key === K_T) return decode();
    const cache = this.repeats[key]!;
    if (cache.hit(b, s, e)) return cache.value;
    const v = decode();
    cache.store(b, s, e, v);
    return v;
  }

  private setMeta(m: MetaFields) {
    const f = this.fields;
    f.meta_pid = m.pid;
    f.meta_cwd = m.cwd;
    f.meta_turn_id = m.turn;
  }

  // b[s, e) is a complete JSON string literal, quotes included.
  private metaFromJsonString(b: Buffer, s: number, e: number, escaped: boolean): MetaFields {
    if (this.lastMeta.hit(b, s, e)) return this.lastMeta.value;
    const m = this.metaFromLiteral(b.utf8Slice(s, e), escaped);
    this.lastMeta.store(b, s, e, m);
    return m;
  }

  private metaFromLiteral(literal: string, escaped: boolean): MetaFields {
    let m = this.metaCache.get(literal);
    if (m === undefined) {
      m = metaFromString(escaped ? (JSON.parse(literal) as string) : literal.slice(1, -1));
      // Bounded: metadata repeats per turn, so a cleared cache refills at once.
      if (this.metaCache.size >= 4096) this.metaCache.clear();
      this.metaCache.set(literal, m);
    }
    return m;
  }

  // JSON.parse, with a decoded copy of line and metadata only where SQLite's reading of the raw
  // line could differ: a non-string value, or the key not appearing exactly once as plain bytes
  // (duplicated, escaped, or also the name of a nested key or a value: an extra copy is harmless).
  private parsed(b: Buffer, start: number, end: number): RejectReason | null {
    const o = parseObject(b, start, end);
    if (typeof o === "string") return o;
    this.fillFrom(o);
    // every search is bounded to the line: a view, so indexOf cannot run on into the next lines
    const line = b.subarray(start, end);
    if (!plainOnce(line, KEY_LINE_QUOTED, o.line) || !plainOnce(line, KEY_METADATA_QUOTED, o.metadata) || hasEscapedKey(line)) {
      this.decoded = { line: toSqlValue(o.line), metadata: toSqlValue(o.metadata) };
    }
    return null;
  }

  // The verdict on a line the fast path handed over; its line and metadata always get a decoded copy.
  private slow(b: Buffer, start: number, end: number): RejectReason | null {
    const o = parseObject(b, start, end);
    if (typeof o === "string") return o;
    this.fillFrom(o);
    this.decoded = { line: toSqlValue(o.line), metadata: toSqlValue(o.metadata) };
    return null;
  }

  // The fields from an object JSON.parse made of the line.
  private fillFrom(o: Record<string, unknown>) {
    const f = this.fields;
    f.t = toSqlValue(o.t);
    f.source = toSqlValue(o.source);
    f.sid = toSqlValue(o.sid);
    f.flow_id = toSqlValue(o.flow_id);
    f.round = toSqlValue(o.round);
    f.event = toSqlValue(o.event);
    const meta = o.metadata;
    let m = NO_META;
    if (typeof meta === "string") {
      m = this.metaCache.get(meta) ?? metaFromString(meta);
      if (this.metaCache.size >= 4096) this.metaCache.clear();
      this.metaCache.set(meta, m);
    }
    this.setMeta(m);
  }
}

/** JSON.parse of the line: the object, or why it is rejected. */
function parseObject(b: Buffer, start: number, end: number): Record<string, unknown> | RejectReason {
  let v: unknown;
  try {
    v = JSON.parse(b.utf8Slice(start, end));
  } catch {
    return "not JSON";
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "not a JSON object";
  return v as Record<string, unknown>;
}


/** Lines longer than this are scanned, not parsed, in the JSON.parse mode (bounds its garbage). */
const PARSE_MAX_BYTES = 64 << 10;

export function jitDisabled(): boolean {
  const v = process.env.BUN_JSC_useJIT;
  return v === "0" || v === "false";
}

const KEY_LINE_QUOTED = Buffer.from('"line"'), KEY_METADATA_QUOTED = Buffer.from('"metadata"');

/**
 * True when SQLite's `raw ->> '$.key'` reads the same as JSON.parse: the value is a string or
 * absent, and the quoted key occurs exactly once (absent: not at all) in the raw bytes.
 */
function plainOnce(line: Buffer, quotedKey: Buffer, value: unknown): boolean {
  if (value !== undefined && value !== null && typeof value !== "string") return false;
  const first = line.indexOf(quotedKey);
  if (value === undefined) return first < 0;
  return first >= 0 && line.indexOf(quotedKey, first + quotedKey.length) < 0;
}

const BACKSLASH_U = Buffer.from("\\u");

/**
 * True when some key of the line (at any depth) holds a \u escape: the only escape that can spell
 * "line" or "metadata" in another way. Used only on lines JSON.parse accepted, so every backslash
 * is inside a string; finding each one's closing quote takes a few native searches.
 */
function hasEscapedKey(line: Buffer): boolean {
  const end = line.length;
  let p = line.indexOf(BACKSLASH_U);
  while (p >= 0) {
    let q = p + 2;
    for (;;) {
      q = line.indexOf(QUOTE, q);
      if (q < 0) return false;
      let backslashes = 0;
      for (let k = q - 1; line[k] === BACKSLASH; k--) backslashes++;
      if (backslashes % 2 === 0) break;
      q++;
    }
    if (line[ws(line, q + 1, end)] === COLON) return true;
    p = line.indexOf(BACKSLASH_U, q + 1);
  }
  return false;
}

/** The metadata fields, from the decoded `metadata` string; anything but a JSON object gives NULLs. */
function metaFromString(s: string): MetaFields {
  let m: unknown;
  try {
    m = JSON.parse(s);
  } catch {
    return NO_META;
  }
  if (typeof m !== "object" || m === null || Array.isArray(m)) return NO_META;
  const o = m as Record<string, unknown>;
  return { pid: toSqlValue(o.pid), cwd: toSqlValue(o.cwd), turn: toSqlValue(o.turn_id) };
}

function setField(f: EnvelopeFields, key: number, v: SqlValue) {
  switch (key) {
    case K_T: f.t = v; break;
    case K_SOURCE: f.source = v; break;
    case K_SID: f.sid = v; break;
    case K_FLOW: f.flow_id = v; break;
    case K_ROUND: f.round = v; break;
    case K_EVENT: f.event = v; break;
  }
}

function keyId(b: Buffer, s: number, n: number): number {
  switch (n) {
    case 1:
      return b[s] === 0x74 ? K_T : K_OTHER;
    case 3:
      return b[s] === 0x73 && b[s + 1] === 0x69 && b[s + 2] === 0x64 ? K_SID : K_OTHER; // sid
    case 4:
      return b[s] === 0x6c && b[s + 1] === 0x69 && b[s + 2] === 0x6e && b[s + 3] === 0x65 ? K_LINE : K_OTHER; // line
    case 5:
      if (b[s] === 0x72 && b[s + 1] === 0x6f && b[s + 2] === 0x75 && b[s + 3] === 0x6e && b[s + 4] === 0x64) return K_ROUND;
      if (b[s] === 0x65 && b[s + 1] === 0x76 && b[s + 2] === 0x65 && b[s + 3] === 0x6e && b[s + 4] === 0x74) return K_EVENT;
      return K_OTHER;
    case 6:
      return bytesAre(b, s, KEY_SOURCE) ? K_SOURCE : K_OTHER;
    case 7:
      return bytesAre(b, s, KEY_FLOW_ID) ? K_FLOW : K_OTHER;
    case 8:
      return bytesAre(b, s, KEY_METADATA) ? K_META : K_OTHER;
  }
  return K_OTHER;
}
const KEY_SOURCE = Buffer.from("source"), KEY_FLOW_ID = Buffer.from("flow_id"), KEY_METADATA = Buffer.from("metadata");

function bytesAre(b: Buffer, s: number, want: Uint8Array): boolean {
  for (let i = 0; i < want.length; i++) if (b[s + i] !== want[i]) return false;
  return true;
}

/**
 * The string value of one field, remembered with its bytes: consecutive lines mostly repeat their
 * session, flow, event and metadata, and comparing a few dozen bytes costs less than decoding them.
 */
class RepeatCache<T> {
  private bytes = new Uint8Array(512);
  private len = -1;
  value!: T;
  /** True when b[s, e) equals the bytes last stored, so `value` is still right. */
  hit(b: Buffer, s: number, e: number): boolean {
    const n = e - s;
    if (n !== this.len) return false;
    const m = this.bytes;
    for (let i = 0; i < n; i++) if (b[s + i] !== m[i]) return false;
    return true;
  }
  store(b: Buffer, s: number, e: number, value: T) {
    const n = e - s;
    if (n <= this.bytes.length) {
      this.bytes.set(b.subarray(s, e));
      this.len = n;
    } else this.len = -1;
    this.value = value;
  }
}

/** Decodes b[s, e), a string body without escapes; latin1 is the cheaper decoder for pure ASCII. */
function plainString(b: Buffer, s: number, e: number): string {
  for (let i = s; i < e; i++) if (b[i] >= 0x80) return b.utf8Slice(s, e);
  return b.latin1Slice(s, e);
}

function ws(b: Buffer, p: number, end: number): number {
  while (p < end) {
    const c = b[p];
    if (c !== SPACE && c !== TAB && c !== LF && c !== CR) break;
    p++;
  }
  return p;
}

// Set by scanString: whether the string it just scanned held an escape. A side channel rather than
// a packed return value, so that every index stays a small integer the JIT keeps unboxed.
let lastStringEscaped = false;

/**
 * Scans a string body starting after its opening quote. Returns the index of the closing quote,
 * or -1 when the string is not valid JSON.
 */
function scanString(b: Buffer, p: number, end: number): number {
  lastStringEscaped = false;
  while (p < end) {
    const c = b[p];
    if (c === QUOTE) return p;
    if (c === BACKSLASH) {
      lastStringEscaped = true;
      const e = b[p + 1];
      if (e === 0x75 /* u */) {
        if (p + 6 > end || !isHex(b[p + 2]) || !isHex(b[p + 3]) || !isHex(b[p + 4]) || !isHex(b[p + 5])) return -1;
        p += 6;
        continue;
      }
      // " \ / b f n r t
      if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        p += 2;
        continue;
      }
      return -1;
    }
    if (c < SPACE) return -1;
    p++;
  }
  return -1;
}

function isHex(c: number): boolean {
  return (c >= ZERO && c <= NINE) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?. Returns its end or -1. */
function scanNumber(b: Buffer, p: number, end: number): number {
  if (b[p] === MINUS) p++;
  if (p >= end) return -1;
  if (b[p] === ZERO) p++;
  else if (b[p] >= 0x31 && b[p] <= NINE) while (p < end && b[p] >= ZERO && b[p] <= NINE) p++;
  else return -1;
  if (p < end && b[p] === DOT) {
    p++;
    const ds = p;
    while (p < end && b[p] >= ZERO && b[p] <= NINE) p++;
    if (p === ds) return -1;
  }
  if (p < end && (b[p] === 0x65 || b[p] === 0x45)) {
    p++;
    if (p < end && (b[p] === PLUS || b[p] === MINUS)) p++;
    const ds = p;
    while (p < end && b[p] >= ZERO && b[p] <= NINE) p++;
    if (p === ds) return -1;
  }
  return p;
}

function scanLiteral(b: Buffer, p: number, end: number): number {
  const c = b[p];
  if (c === 0x74) return p + 4 <= end && b[p + 1] === 0x72 && b[p + 2] === 0x75 && b[p + 3] === 0x65 ? p + 4 : -1; // true
  if (c === 0x6e) return p + 4 <= end && b[p + 1] === 0x75 && b[p + 2] === 0x6c && b[p + 3] === 0x6c ? p + 4 : -1; // null
  return p + 5 <= end && b[p + 1] === 0x61 && b[p + 2] === 0x6c && b[p + 3] === 0x73 && b[p + 4] === 0x65 ? p + 5 : -1; // false
}

// Deeper values than this go to JSON.parse, which owns the verdict on pathological nesting.
const MAX_FAST_DEPTH = 64;

/**
 * Skips and validates a nested object or array on an ignored key, so that the keys inside it are
 * never taken for top-level ones. Returns its end, or -1 when JSON.parse must decide.
 */
function skipComposite(b: Buffer, p: number, end: number): number {
  // closers[depth] holds the byte that closes each open container
  const closers: number[] = [];
  // After an opener or a comma a value (or, in an object, a key) must follow.
  for (;;) {
    const c = b[p];
    if (c === LBRACE || c === LBRACKET) {
      if (closers.length >= MAX_FAST_DEPTH) return -1;
      closers.push(c === LBRACE ? RBRACE : 0x5d);
      p = ws(b, p + 1, end);
      if (p >= end) return -1;
      if (b[p] === closers[closers.length - 1]) {
        closers.pop();
        p++;
        if (closers.length === 0) return p;
        p = afterValue(b, p, end, closers);
        if (p < 0 || outermostClosed) return p;
        continue;
      }
      if (c === LBRACE) {
        p = objectKey(b, p, end);
        if (p < 0) return -1;
      }
      continue;
    }
    // a scalar value
    if (c === QUOTE) {
      const close = scanString(b, p + 1, end);
      if (close < 0) return -1;
      p = close + 1;
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) p = scanNumber(b, p, end);
    else if (c === 0x74 || c === 0x66 || c === 0x6e) p = scanLiteral(b, p, end);
    else return -1;
    if (p < 0) return -1;
    p = afterValue(b, p, end, closers);
    if (p < 0 || outermostClosed) return p;
  }
}

// Set by afterValue when the outermost container closed, so its returned index is the end.
let outermostClosed = false;

// After a value inside a container: a comma (then the next value or key) or the closer(s).
function afterValue(b: Buffer, p: number, end: number, closers: number[]): number {
  outermostClosed = false;
  for (;;) {
    p = ws(b, p, end);
    if (p >= end) return -1;
    const c = b[p];
    const closer = closers[closers.length - 1];
    if (c === COMMA) {
      p = ws(b, p + 1, end);
      if (p >= end) return -1;
      if (closer === RBRACE) return objectKey(b, p, end);
      return p;
    }
    if (c !== closer) return -1;
    closers.pop();
    p++;
    if (closers.length === 0) {
      outermostClosed = true;
      return p;
    }
  }
}

// At a key inside a nested object: the key string, its colon, and the start of its value.
function objectKey(b: Buffer, p: number, end: number): number {
  if (b[p] !== QUOTE) return -1;
  const close = scanString(b, p + 1, end);
  if (close < 0) return -1;
  p = ws(b, close + 1, end);
  if (p >= end || b[p] !== COLON) return -1;
  p = ws(b, p + 1, end);
  return p < end ? p : -1;
}
