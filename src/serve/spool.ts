/**
 * The local spool of the prediction log (and, under a root of its own, of
 * the feedback log: `name`): append-only JSON Lines segments in a
 * directory of this process's own, written before an answer is sent.
 *
 * - `append` resolves once the bytes are written to the file (the OS has
 *   them: a SIGKILL of the process after that loses nothing). With
 *   `sync: 'fsync'` it also waits for fdatasync (a machine crash loses
 *   nothing either). Concurrent appends are written together (group commit):
 *   one write, and one fdatasync, for every request that arrived meanwhile.
 * - The open segment is closed (rotated) after `maxRows` rows or `maxAgeMs`;
 *   closed segments are what the uploader takes (`closedSegments`), and a
 *   segment is removed only once its rows are in the store.
 * - A line is one request's record; only lines ended by '\n' count. A write
 *   cut short by a kill leaves an incomplete last line: it was never answered
 *   (the answer waits for the write), and `readSegment` ignores it. A process
 *   never appends to another's segment, so a torn tail stays a tail.
 * - Each process writes in `<root>/serve-<pid>-<random>/` with an owner.json,
 *   made whole before it appears (created as `.serve-...` and renamed), so a
 *   server starting beside others (cluster workers) is never taken for a
 *   dead one whose owner file is missing.
 *   A directory whose owner process is gone (killed) is adopted: its segments
 *   are moved (rename, atomic: of two servers adopting at once, each segment
 *   goes to one) into this process's directory and uploaded from there. Only
 *   directories of the same store are adopted, so rows never land in another
 *   bucket.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, rmdir, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';

export type SpoolSync = 'write' | 'fsync';

export interface SpoolOptions {
  /** The spool root; this process writes in a directory of its own under it. */
  root: string;
  /** Who the rows are for (the store's description): only directories of the same store are adopted. */
  store: string;
  /** What the spool holds, as log messages name it (default 'prediction log'; 'feedback' for the feedback spool). */
  name?: string;
  /** Rows after which the open segment is closed (default 10,000). */
  maxRows?: number;
  /** Age after which a non-empty open segment is closed (default 60 s). */
  maxAgeMs?: number;
  /** 'write' (default): an append resolves once written to the OS; 'fsync': once on disk. */
  sync?: SpoolSync;
  /** Called when a segment is closed (the uploader takes it). */
  onRotate?: () => void;
  log?: (line: string) => void;
}

export interface SegmentInfo {
  /** The segment's id: the part id of the Parquet parts made from it (deterministic: an upload repeated after a crash overwrites the same keys). */
  id: string;
  path: string;
}

export interface ReadSegment<T> {
  records: T[];
  rows: number;
  /** Bytes of an incomplete last line (a write cut short by a kill), ignored. */
  tornBytes: number;
  /** Complete lines that do not parse (never expected: a disk fault), with their 1-based line numbers. */
  corrupt: { line: number; text: string }[];
}

interface OwnerFile {
  pid: number;
  store: string;
  startedAt: string;
}

interface Pending {
  text: string;
  rows: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

const SEGMENT = /^seg-(.+)\.jsonl$/;
/** The directories of spools open in this process (two servers in one process never adopt each other's). */
const OPEN_HERE = new Set<string>();
const OWNER = 'owner.json';

let lastIdMs = 0;

/**
 * A sortable, unique segment id: UTC time to the ms, then random hex. Strictly
 * increasing within a process (a segment opened in the same millisecond as the
 * one before takes the next millisecond), so segments sort in the order they
 * were opened.
 */
function segmentId(now = new Date()): string {
  const ms = Math.max(now.getTime(), lastIdMs + 1);
  lastIdMs = ms;
  return `${new Date(ms).toISOString().replace(/[-:.]/g, '')}-${randomBytes(4).toString('hex')}`;
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The rows of one record line: its `ids` array's length. */
function rowsOf(record: unknown): number {
  const ids = (record as { ids?: unknown } | null)?.ids;
  return Array.isArray(ids) ? ids.length : 0;
}

/** Reads a closed segment: every complete line, the torn tail (if any) ignored. */
export async function readSegment<T>(path: string): Promise<ReadSegment<T>> {
  const text = await readFile(path, 'utf8');
  const end = text.lastIndexOf('\n');
  const complete = end < 0 ? '' : text.slice(0, end);
  const tornBytes = Buffer.byteLength(text.slice(end + 1));
  const out: ReadSegment<T> = { records: [], rows: 0, tornBytes, corrupt: [] };
  if (complete === '') return out;
  complete.split('\n').forEach((line, i) => {
    if (line === '') return;
    try {
      const record = JSON.parse(line) as T;
      if (rowsOf(record) === 0) throw new Error('no ids');
      out.records.push(record);
      out.rows += rowsOf(record);
    } catch {
      out.corrupt.push({ line: i + 1, text: line.length > 200 ? `${line.slice(0, 200)}...` : line });
    }
  });
  return out;
}

/** Counts the complete lines' rows of a segment without keeping them (the backlog of an adopted segment). */
async function countRows(path: string): Promise<number> {
  try {
    return (await readSegment(path)).rows;
  } catch {
    return 0;
  }
}

export class Spool {
  readonly dir: string;
  private readonly maxRows: number;
  private readonly maxAgeMs: number;
  private readonly sync: SpoolSync;
  private readonly log: (line: string) => void;
  private readonly name: string;
  private active: { id: string; path: string; handle: FileHandle; rows: number; openedAt: number } | null = null;
  private pending: Pending[] = [];
  private flushQueued = false;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Rows in closed segments not yet removed, by segment path (the backlog with the open segment's rows). */
  private readonly closedRows = new Map<string, number>();

  constructor(private readonly options: SpoolOptions) {
    this.dir = join(options.root, `serve-${process.pid}-${randomBytes(3).toString('hex')}`);
    this.maxRows = Math.max(1, options.maxRows ?? 10_000);
    this.maxAgeMs = Math.max(1, options.maxAgeMs ?? 60_000);
    this.sync = options.sync ?? 'write';
    this.log = options.log ?? ((line) => console.error(line));
    this.name = options.name ?? 'prediction log';
  }

  /** Creates this process's directory, adopts those of dead processes, and starts the age check. */
  async open(): Promise<void> {
    OPEN_HERE.add(this.dir);
    const owner: OwnerFile = { pid: process.pid, store: this.options.store, startedAt: new Date().toISOString() };
    // Made whole under a name adoption skips, then renamed: another server never sees it without its owner file.
    const staging = join(this.options.root, `.${basename(this.dir)}`);
    for (let attempt = 1; ; attempt++) {
      try {
        await mkdir(this.options.root, { recursive: true });
        await mkdir(staging, { recursive: true });
        await writeFile(join(staging, OWNER), JSON.stringify(owner) + '\n');
        await rename(staging, this.dir);
        break;
      } catch (error) {
        // The root removed under us by a server stopping beside this one (it goes once empty): made again.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw error;
      }
    }
    await this.adopt();
    const every = Math.min(1000, Math.max(10, Math.floor(this.maxAgeMs / 4)));
    this.timer = setInterval(() => {
      if (this.active && this.active.rows > 0 && Date.now() - this.active.openedAt >= this.maxAgeMs)
        this.rotate().catch((error: Error) => this.log(`perennial serve: could not close a ${this.name} segment in ${this.dir}: ${error.message}`));
    }, every);
    this.timer.unref();
  }

  /**
   * Moves the segments of every directory under the root whose owner is gone
   * (and whose rows are for the same store) into this one; returns how many.
   */
  async adopt(): Promise<number> {
    let entries: string[];
    try {
      entries = await readdir(this.options.root);
    } catch {
      return 0;
    }
    let moved = 0;
    for (const name of entries) {
      const dir = join(this.options.root, name);
      // A directory a process was making when it died (it holds an owner file at most).
      const making = /^\.serve-(\d+)-/.exec(name);
      if (making && !alive(Number(making[1])) && !OPEN_HERE.has(join(this.options.root, name.slice(1)))) {
        await rm(dir, { recursive: true, force: true }).catch(() => {});
        continue;
      }
      if (dir === this.dir || !name.startsWith('serve-')) continue;
      let owner: OwnerFile | undefined;
      try {
        owner = JSON.parse(await readFile(join(dir, OWNER), 'utf8')) as OwnerFile;
      } catch {
        owner = undefined; // a directory whose owner file is missing or torn: its process died while creating it
      }
      if (owner && owner.store !== this.options.store) continue;
      if (OPEN_HERE.has(dir)) continue;
      // The same pid as this process but not open here: an earlier process that had this pid (a restarted container).
      if (owner && owner.pid !== process.pid && alive(owner.pid)) continue;
      let files: string[];
      try {
        files = await readdir(dir);
      } catch {
        continue;
      }
      for (const file of files) {
        if (!SEGMENT.test(file)) continue;
        const to = join(this.dir, file);
        try {
          await rename(join(dir, file), to);
        } catch {
          continue; // another server adopted it first
        }
        this.closedRows.set(to, await countRows(to));
        moved += 1;
      }
      // The directory goes once it holds nothing but its owner file; anything else in it stays for a person to look at.
      try {
        await rm(join(dir, OWNER), { force: true });
        await rmdir(dir);
      } catch {
        // not empty, or removed by another adopter
      }
    }
    if (moved > 0) this.log(`perennial serve: adopted ${moved} ${this.name} segment(s) left by a stopped server; uploading them`);
    return moved;
  }

  /** Rows spooled and not yet uploaded (closed segments and the open one). */
  get backlogRows(): number {
    let n = this.active?.rows ?? 0;
    for (const rows of this.closedRows.values()) n += rows;
    return n;
  }

  get backlogSegments(): number {
    return this.closedRows.size + (this.active && this.active.rows > 0 ? 1 : 0);
  }

  /**
   * Appends `text` (one or more complete lines, each ended by '\n', holding
   * `rows` rows); resolves once the bytes are written (and synced, with
   * sync 'fsync'), rejects when they could not be.
   */
  append(text: string, rows: number): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`the ${this.name} spool is closed`));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ text, rows, resolve, reject });
      if (!this.flushQueued) {
        this.flushQueued = true;
        this.enqueue(() => {
          this.flushQueued = false;
          return this.flush();
        }).catch((error: Error) => this.log(`perennial serve: the ${this.name} spool ${this.dir}: ${error.message}`));
      }
    });
  }

  /** Closes the open segment (if it has rows), so the uploader can take it. */
  rotate(): Promise<void> {
    return this.enqueue(() => this.closeActive());
  }

  /**
   * Closed segments, oldest first (ids sort by time). Only those this spool
   * closed or adopted: a file just created for writing is never taken for a
   * closed one (removing it would lose what is written to it next).
   */
  async closedSegments(): Promise<SegmentInfo[]> {
    return (await this.listSegments()).filter((s) => this.closedRows.has(s.path));
  }

  /** A segment's rows are in the store: it goes. */
  async remove(segment: SegmentInfo): Promise<void> {
    await unlink(segment.path).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    this.closedRows.delete(segment.path);
  }

  /** Stops taking appends, writes what is pending and closes the open segment. The directory stays while it holds segments. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.enqueue(() => this.closeActive());
  }

  /** After close and the last upload: segments left here may be adopted by another spool of this process. */
  release(): void {
    OPEN_HERE.delete(this.dir);
  }

  /** Removes this process's directory when it holds no segment (after close and a full upload). */
  async removeIfEmpty(): Promise<boolean> {
    if ((await this.listSegments()).length > 0) return false;
    await rm(join(this.dir, OWNER), { force: true });
    try {
      await rmdir(this.dir);
      return true;
    } catch {
      return false;
    }
  }

  private async listSegments(): Promise<SegmentInfo[]> {
    let files: string[];
    try {
      files = await readdir(this.dir);
    } catch {
      return [];
    }
    return files
      .map((file) => SEGMENT.exec(file))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ id: m[1]!, path: join(this.dir, m[0]) }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Runs `op` after every earlier write and rotation: one at a time, in order. */
  private enqueue(op: () => Promise<void>): Promise<void> {
    const next = this.chain.then(op);
    this.chain = next.catch(() => {});
    return next;
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const rows = batch.reduce((n, p) => n + p.rows, 0);
    const bytes = Buffer.from(batch.map((p) => p.text).join(''), 'utf8');
    try {
      if (!this.active) {
        const id = segmentId();
        const path = join(this.dir, `seg-${id}.jsonl`);
        // O_EXCL: never append to a file someone else wrote (a torn tail must stay a tail).
        const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND, 0o644);
        this.active = { id, path, handle, rows: 0, openedAt: Date.now() };
      }
      const active = this.active;
      let offset = 0;
      while (offset < bytes.length) {
        const { bytesWritten } = await active.handle.write(bytes, offset, bytes.length - offset);
        offset += bytesWritten;
      }
      if (this.sync === 'fsync') await active.handle.datasync();
      active.rows += rows;
    } catch (error) {
      const failure = new Error(`the ${this.name} spool ${this.dir} could not be written: ${(error as Error).message}`);
      for (const p of batch) p.reject(failure);
      // What was written of this batch (if anything) is now the segment's torn tail: nothing goes after it.
      await this.closeActive().catch(() => {});
      return;
    }
    for (const p of batch) p.resolve();
    if (this.active.rows >= this.maxRows) await this.closeActive();
  }

  private async closeActive(): Promise<void> {
    const active = this.active;
    if (!active) return;
    this.active = null;
    // Counted as closed at once: the backlog never dips while the file closes.
    if (active.rows > 0) this.closedRows.set(active.path, active.rows);
    try {
      if (this.sync === 'fsync') await active.handle.sync().catch(() => {});
      await active.handle.close();
    } finally {
      if (active.rows === 0) await unlink(active.path).catch(() => {});
      else this.options.onRotate?.();
    }
  }
}
