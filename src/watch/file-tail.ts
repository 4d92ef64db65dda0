// Follows a console log file on the runner from its current end, through truncation, replacement and absence.

import { open, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import type { ConsoleSource, WatchSink } from './types.js';

/** How often the file is checked. A serial log is written by another process, so polling is the portable way. */
const POLL_MS = 200;
/** Bytes read per read call. */
const READ_BYTES = 256 * 1024;

export interface FileTailOptions {
  /** Read a file that exists at start from its beginning rather than its end. */
  fromStart?: boolean;
  pollMs?: number;
}

/**
 * Each poll opens the path afresh, so a file replaced by a new one (a new inode) is read from its start, a file
 * that shrank (truncated) is read again from 0, and a file that does not exist yet is read once it appears.
 * A file truncated and then written past its old size between two polls cannot be told from one appended to.
 */
export class FileTail implements ConsoleSource {
  private offset = 0;
  private inode: number | undefined;
  private decoder = new StringDecoder('utf8');
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;
  private missingNoted = false;
  private lastError: string | undefined;

  constructor(
    private readonly path: string,
    private readonly via: string,
    private readonly sink: WatchSink,
    private readonly options: FileTailOptions = {},
  ) {}

  async start(): Promise<void> {
    if (this.stopped) return;
    const handle = await this.openFile();
    if (handle) {
      try {
        const stat = await handle.stat();
        this.inode = stat.ino;
        this.offset = this.options.fromStart ? 0 : stat.size;
      } finally {
        await handle.close().catch(() => undefined);
      }
    }
    if (this.stopped) return;
    this.timer = setInterval(() => {
      this.polling ??= this.poll().finally(() => {
        this.polling = undefined;
      });
    }, this.options.pollMs ?? POLL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.polling;
  }

  /** Opens the file, or notes why it cannot be opened (once per reason) and returns undefined. */
  private async openFile(): Promise<FileHandle | undefined> {
    try {
      const handle = await open(this.path, 'r');
      this.missingNoted = false;
      return handle;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        if (!this.missingNoted) this.sink.note('info', `console file ${this.path} does not exist yet; it is read once it appears`);
        this.missingNoted = true;
        // Whatever appears at the path next is new.
        this.inode = undefined;
        this.offset = 0;
      } else {
        this.noteProblem(code ?? 'open', `console file ${this.path} cannot be read: ${(err as Error).message}`);
      }
      return undefined;
    }
  }

  private async poll(): Promise<void> {
    if (this.stopped) return;
    const handle = await this.openFile();
    if (!handle) return;
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) {
        this.noteProblem('not-a-file', `console file ${this.path} cannot be read: it is not a regular file${stat.isDirectory() ? ' but a directory' : ''} (read a device with a command: console)`);
        return;
      }
      this.lastError = undefined;
      if (this.inode !== undefined && stat.ino !== this.inode) {
        this.sink.note('info', `console file ${this.path} was replaced; reading the new file from its start`);
        this.restartAt(0);
      } else if (stat.size < this.offset) {
        this.sink.note('info', `console file ${this.path} was truncated; reading it from its start`);
        this.restartAt(0);
      }
      this.inode = stat.ino;
      const buffer = Buffer.alloc(READ_BYTES);
      while (!this.stopped) {
        const { bytesRead } = await handle.read(buffer, 0, READ_BYTES, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        const text = this.decoder.write(buffer.subarray(0, bytesRead));
        if (text !== '') this.sink.text(this.via, text);
      }
    } catch (err) {
      this.noteProblem((err as NodeJS.ErrnoException).code ?? 'read', `console file ${this.path} cannot be read: ${(err as Error).message}`);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  /** A 'warn' note, once per kind of problem until the file reads again. */
  private noteProblem(kind: string, message: string): void {
    if (this.lastError === kind) return;
    this.lastError = kind;
    this.sink.note('warn', message);
  }

  private restartAt(offset: number): void {
    this.offset = offset;
    this.decoder = new StringDecoder('utf8');
  }
}
