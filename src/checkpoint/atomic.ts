/**
 * Crash-safe file and folder replacement. A checkpoint is written next to its target under a temporary
 * name, flushed to disk (fsync), renamed over the target (atomic on POSIX within one file system) and the
 * parent folder is fsynced so the rename itself survives a power cut. Readers therefore see either the old
 * checkpoint or the complete new one, never a partial file.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { OnnxTrainError } from '../errors.js';

/** Where a writer callback puts its bytes. */
export interface ByteSink {
  write(chunk: Uint8Array): Promise<void>;
}

function tempName(target: string, tag: string): string {
  return join(dirname(target), `.${basename(target)}.${tag}-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/** Wraps a Node fs error as OnnxTrainError('IO'); anything else is rethrown unchanged. */
export function ioError(e: unknown, what: string, where: string): unknown {
  if (e instanceof OnnxTrainError) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string') {
    const fix =
      code === 'ENOENT' ? 'check the path; the folder must exist'
      : code === 'EACCES' || code === 'EPERM' ? 'check the permissions of the file and its folder'
      : code === 'ENOSPC' ? 'free disk space and retry'
      : undefined;
    return new OnnxTrainError('IO', `${what}: ${(e as Error).message}`, fix, where);
  }
  return e;
}

/** fsync a folder so a rename inside it is durable; platforms that cannot (Windows) are skipped. */
async function syncDir(dir: string): Promise<void> {
  let h: FileHandle | undefined;
  try {
    h = await open(dir, fsc.O_RDONLY);
    await h.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF' && code !== 'EACCES') throw e;
  } finally {
    await h?.close();
  }
}

/** A fully written and fsynced temp file, waiting to be renamed over its target. */
export interface PreparedFile {
  readonly target: string;
  /** Renames the temp file over the target and fsyncs the folder. */
  commit(): Promise<void>;
  /** Removes the temp file; the target stays untouched. */
  abort(): Promise<void>;
}

/**
 * First half of an atomic replace: writes what `fill` produces to a temp file next to `target` and fsyncs
 * it. Nothing is visible at `target` until `commit()`. If `fill` or a write throws, the temp file is
 * removed and the error propagates (fs errors as OnnxTrainError('IO')). Lets a caller prepare several files
 * (ODTC + its external data) completely before renaming any of them.
 */
export async function prepareFileAtomic(target: string, fill: (sink: ByteSink) => Promise<void> | void): Promise<PreparedFile> {
  target = resolve(target);
  const tmp = tempName(target, 'tmp');
  let h: FileHandle | undefined;
  try {
    h = await open(tmp, 'wx', 0o644);
    const handle = h;
    await fill({
      async write(chunk: Uint8Array): Promise<void> {
        let off = 0;
        while (off < chunk.length) {
          const { bytesWritten } = await handle.write(chunk, off, chunk.length - off);
          off += bytesWritten;
        }
      },
    });
    await h.sync();
    await h.close();
    h = undefined;
  } catch (e) {
    if (h !== undefined) await h.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw ioError(e, 'cannot write checkpoint', target);
  }
  let done = false;
  return {
    target,
    async commit(): Promise<void> {
      if (done) return;
      done = true;
      try {
        await rename(tmp, target);
      } catch (e) {
        await unlink(tmp).catch(() => undefined);
        throw ioError(e, 'cannot write checkpoint', target);
      }
      try {
        await syncDir(dirname(target));
      } catch (e) {
        throw ioError(e, 'wrote the checkpoint but could not flush its folder', target);
      }
    },
    async abort(): Promise<void> {
      if (done) return;
      done = true;
      await unlink(tmp).catch(() => undefined);
    },
  };
}

/**
 * Replaces `target` with the bytes `fill` writes, atomically: a temp file in the same folder, fsync, rename
 * over the target, fsync of the folder. If `fill` (or any step before the rename) throws, the temp file is
 * removed, the target is left untouched and the error propagates (fs errors as OnnxTrainError('IO')).
 */
export async function writeFileAtomic(target: string, fill: (sink: ByteSink) => Promise<void> | void): Promise<void> {
  await (await prepareFileAtomic(target, fill)).commit();
}

/** {@link writeFileAtomic} for bytes already in memory. */
export async function writeBytesAtomic(target: string, bytes: Uint8Array): Promise<void> {
  await writeFileAtomic(target, (sink) => sink.write(bytes));
}

/**
 * Replaces the folder `target` with one holding exactly `files` (name → bytes), atomically as far as POSIX
 * allows: the new folder is built and fsynced under a temp name, then swapped in by two renames (old folder
 * aside, new folder in). An existing target must contain nothing but files `mayReplace` accepts, so a
 * mistaken path never discards unrelated data; the old files are deleted only after the swap succeeded.
 */
export async function writeDirAtomic(
  target: string,
  files: ReadonlyMap<string, Uint8Array>,
  mayReplace: (name: string) => boolean,
): Promise<void> {
  target = resolve(target);
  const parent = dirname(target);
  for (const name of files.keys()) {
    if (name !== basename(name) || name.startsWith('.')) {
      throw new OnnxTrainError('UNSAFE_PATH', `checkpoint file name "${name}" is not a plain file name`, undefined, target);
    }
  }
  let existing: string[] | undefined;
  try {
    const st = await lstat(target);
    if (!st.isDirectory()) {
      throw new OnnxTrainError('IO', 'target exists and is not a folder', 'choose a folder path for a legacy (pbseq) checkpoint', target);
    }
    existing = await readdir(target);
    const foreign = existing.filter((n) => !mayReplace(n));
    if (foreign.length > 0) {
      throw new OnnxTrainError(
        'IO',
        `folder holds files that are not part of a legacy checkpoint (${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', …' : ''}); refusing to replace it`,
        'write to an empty or new folder',
        target,
      );
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(e, 'cannot inspect target folder', target);
  }

  const tmp = tempName(target, 'tmp');
  let swapped = false;
  try {
    await mkdir(tmp);
    for (const [name, bytes] of files) {
      const h = await open(join(tmp, name), 'wx', 0o644);
      try {
        await h.writeFile(bytes);
        await h.sync();
      } finally {
        await h.close();
      }
    }
    await syncDir(tmp);
    if (existing === undefined) {
      await rename(tmp, target);
      swapped = true;
      await syncDir(parent);
      return;
    }
    const old = tempName(target, 'old');
    await rename(target, old);
    try {
      await rename(tmp, target);
    } catch (e) {
      await rename(old, target).catch(() => undefined);
      throw e;
    }
    swapped = true;
    await syncDir(parent);
    // Remove the replaced checkpoint file by file: rmdir fails rather than deleting anything unexpected.
    for (const n of await readdir(old)) if (mayReplace(n)) await unlink(join(old, n));
    await rmdir(old).catch(() => undefined);
  } catch (e) {
    throw ioError(e, 'cannot write checkpoint folder', target);
  } finally {
    if (!swapped) await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
  }
}
