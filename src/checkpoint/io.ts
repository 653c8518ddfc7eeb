/**
 * Checkpoint files: format detection, reading and atomic writing for every supported format.
 *
 * | format        | on disk                                                | detected by                         |
 * | ------------- | ------------------------------------------------------ | ----------------------------------- |
 * | `odtc`        | one file (ORT names it `checkpoint`), optional `<file>.data` | identifier "ODTC" at bytes 4..8 |
 * | `safetensors` | one file (`*.safetensors`)                             | u64 header length + `{`            |
 * | `pbseq`       | a folder of `*.pbseq` files (legacy ORT)               | `paramtrain_tensors.pbseq` etc.     |
 *
 * A folder that holds a `checkpoint` entry (an ORT artifacts folder) resolves to that entry.
 */
import { closeSync, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { OnnxTrainError } from '../errors.js';
import { prepareFileAtomic, writeBytesAtomic, writeDirAtomic, ioError } from './atomic.js';
import { decodeLegacyDir, encodeLegacyDir, isLegacyCheckpointFile } from './legacy-dir.js';
import { decodeOdtc, encodeOdtc, isOdtc, type EncodeOdtcOptions } from './odtc.js';
import { decodePbseq } from './pbseq.js';
import { decodeSafetensors, encodeSafetensors, isSafetensors } from './safetensors.js';
import type { CheckpointFormat, CheckpointState } from './types.js';

export { validateAgainst, checkpointMismatches } from './validate.js';

/** Options of {@link readCheckpoint}. */
export interface ReadCheckpointOptions {
  /**
   * ODTC external data file, relative to the checkpoint's folder (default `<checkpoint file name>.data`).
   * It must resolve inside that folder (symlinks included), else OnnxTrainError('UNSAFE_PATH').
   */
  externalDataPath?: string;
  /** Receives non-fatal findings (e.g. an ODTC version newer than 2). */
  onWarning?: (message: string) => void;
}

/** Options of {@link writeCheckpoint}. */
export interface WriteCheckpointOptions {
  /** Format to write; default: `safetensors` for a `.safetensors` path, else `odtc`. */
  format?: CheckpointFormat;
  /** ODTC version (default 2; 1 for old native readers). */
  odtcVersion?: number;
  /** ODTC only: store parameter bytes in `<path>.data` (see `EncodeOdtcOptions.externalData`). */
  externalData?: EncodeOdtcOptions['externalData'];
}

/** Where and what a checkpoint path resolves to. */
export interface DetectedCheckpoint {
  format: CheckpointFormat;
  /** The file (odtc, safetensors, single .pbseq) or folder (pbseq) that holds it. */
  path: string;
}

const HOW = 'pass an ODTC checkpoint file, a .safetensors file, a legacy folder of .pbseq files, or a folder containing "checkpoint"';

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw ioError(e, 'cannot read checkpoint', path);
  }
}

async function statOrThrow(path: string) {
  try {
    return await stat(path);
  } catch (e) {
    throw ioError(e, 'cannot open checkpoint', path);
  }
}

function sniff(bytes: Uint8Array, path: string): CheckpointFormat | undefined {
  if (isOdtc(bytes)) return 'odtc';
  if (isSafetensors(bytes)) return 'safetensors';
  if (path.endsWith('.pbseq')) return 'pbseq';
  return undefined;
}

/**
 * Works out which format `path` holds without decoding it. Throws OnnxTrainError ('IO' when the path
 * cannot be read, 'BAD_CHECKPOINT' when it is no known format).
 */
export async function detectCheckpointFormat(path: string): Promise<DetectedCheckpoint> {
  return (await detect(resolve(path), true)).detected;
}

async function detect(path: string, descend: boolean): Promise<{ detected: DetectedCheckpoint; bytes?: Uint8Array }> {
  const st = await statOrThrow(path);
  if (st.isDirectory()) {
    let names: string[];
    try {
      names = await readdir(path);
    } catch (e) {
      throw ioError(e, 'cannot list checkpoint folder', path);
    }
    if (names.some(isLegacyCheckpointFile)) return { detected: { format: 'pbseq', path } };
    if (descend && names.includes('checkpoint')) return detect(join(path, 'checkpoint'), false);
    throw new OnnxTrainError('BAD_CHECKPOINT', 'folder holds neither legacy .pbseq files nor a "checkpoint" entry', HOW, path);
  }
  // A file of a legacy folder stands for the whole folder (reading one file alone would drop, e.g., the
  // trainable/frozen split).
  if (isLegacyCheckpointFile(basename(path))) return { detected: { format: 'pbseq', path: dirname(path) } };
  const bytes = await readBytes(path);
  const format = sniff(bytes, path);
  if (format === undefined) {
    const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new OnnxTrainError(
      'BAD_CHECKPOINT',
      `unrecognised checkpoint format (${bytes.length} bytes, starting ${head || '(empty)'}); no "ODTC" identifier at bytes 4..8 and no safetensors header`,
      HOW,
      path,
    );
  }
  return { detected: { format, path }, bytes };
}

/**
 * Opens the ODTC external data file lazily and serves bounds-checked reads from it. The file must stay
 * inside the checkpoint's folder: a relative `externalDataPath` with `..`, an absolute path elsewhere, or a
 * symlink leading out are OnnxTrainError('UNSAFE_PATH').
 */
class ExternalData {
  private fd: number | undefined;
  private size = 0;
  readonly path: string;

  constructor(private readonly checkpointPath: string, location: string | undefined) {
    const dir = dirname(checkpointPath);
    const loc = location ?? `${basename(checkpointPath)}.data`;
    const full = resolve(dir, loc);
    const rel = relative(dir, full);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
      throw new OnnxTrainError(
        'UNSAFE_PATH',
        `external data location "${loc}" resolves outside the checkpoint folder (${dir})`,
        'keep the external data file next to the checkpoint',
        checkpointPath,
      );
    }
    this.path = full;
  }

  read(offset: number, length: number, tensorName: string): Uint8Array {
    if (this.fd === undefined) this.open();
    if (offset + length > this.size) {
      throw new OnnxTrainError(
        'BAD_CHECKPOINT',
        `tensor "${tensorName}" needs external bytes ${offset}..${offset + length}, but ${this.path} has ${this.size} bytes: truncated or mismatched`,
        'write the checkpoint and its .data file again, together',
        this.checkpointPath,
      );
    }
    const out = new Uint8Array(length);
    let done = 0;
    try {
      while (done < length) {
        const n = readSync(this.fd!, out, done, length - done, offset + done);
        if (n === 0) throw Object.assign(new Error('unexpected end of file'), { code: 'EIO' });
        done += n;
      }
    } catch (e) {
      throw ioError(e, 'cannot read external data', this.path);
    }
    return out;
  }

  private open(): void {
    try {
      const realDir = realpathSync(dirname(this.checkpointPath));
      const real = realpathSync(this.path);
      const rel = relative(realDir, real);
      if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
        throw new OnnxTrainError(
          'UNSAFE_PATH',
          `external data file ${this.path} is a link to ${real}, outside the checkpoint folder`,
          'replace the link with the data file itself',
          this.checkpointPath,
        );
      }
      this.fd = openSync(real, 'r');
      this.size = fstatSync(this.fd).size;
    } catch (e) {
      if (e instanceof OnnxTrainError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        throw new OnnxTrainError(
          'BAD_CHECKPOINT',
          `the checkpoint keeps tensor data in an external file, but ${this.path} does not exist`,
          'copy the .data file that was written with the checkpoint next to it (or pass externalDataPath)',
          this.checkpointPath,
        );
      }
      throw ioError(e, 'cannot open external data', this.path);
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/**
 * Reads a checkpoint in any supported format, detected from its content (see the module table). Every
 * failure is an OnnxTrainError: 'IO' (cannot read), 'BAD_CHECKPOINT' (unknown format, truncated, corrupt,
 * inconsistent tensor), 'UNSAFE_PATH' (external data outside the folder).
 */
export async function readCheckpoint(path: string, options: ReadCheckpointOptions = {}): Promise<CheckpointState> {
  const { detected, bytes } = await detect(resolve(path), true);
  const where = detected.path;
  switch (detected.format) {
    case 'odtc': {
      // An explicit location is checked up front; the default one only when a tensor needs it.
      let ext = options.externalDataPath !== undefined ? new ExternalData(where, options.externalDataPath) : undefined;
      try {
        return decodeOdtc(bytes!, {
          where,
          onWarning: options.onWarning,
          readExternal: (offset, length, name) => {
            ext ??= new ExternalData(where, options.externalDataPath);
            return ext.read(offset, length, name);
          },
        });
      } finally {
        ext?.close();
      }
    }
    case 'safetensors':
      return decodeSafetensors(bytes!, where);
    case 'pbseq': {
      if (bytes !== undefined) {
        // A lone .pbseq file: a plain tensor sequence, read as trainable parameters.
        return { format: 'pbseq', trainable: decodePbseq(bytes, where), frozen: [], properties: {} };
      }
      const files = new Map<string, Uint8Array>();
      let names: string[];
      try {
        names = await readdir(where);
      } catch (e) {
        throw ioError(e, 'cannot list checkpoint folder', where);
      }
      for (const name of names.sort()) {
        if (isLegacyCheckpointFile(name)) files.set(name, await readBytes(join(where, name)));
      }
      return decodeLegacyDir(files, where);
    }
  }
}

/**
 * Writes `state` to `path` atomically: the target is either left as it was or replaced by the complete new
 * checkpoint (temp file + fsync + rename + folder fsync; see `atomic.ts`). The state is fully encoded and
 * validated before anything touches the disk. For ODTC with external data, both `<path>.data` and the
 * checkpoint are written and flushed completely before either is renamed into place (data first); only a
 * crash between those two renames can leave a new data file next to the old checkpoint. For `pbseq`, `path`
 * is a folder, swapped in as a whole.
 */
export async function writeCheckpoint(path: string, state: CheckpointState, options: WriteCheckpointOptions = {}): Promise<void> {
  const target = resolve(path);
  const format = options.format ?? (extname(target) === '.safetensors' ? 'safetensors' : 'odtc');
  switch (format) {
    case 'odtc': {
      const enc = encodeOdtc(state, { version: options.odtcVersion, externalData: options.externalData });
      if (enc.externalData === undefined) {
        await writeBytesAtomic(target, enc.checkpoint);
        return;
      }
      // Two files cannot be replaced in one atomic step: write and fsync both completely first, then rename
      // them back to back (data first), so only a crash between the two renames can pair them wrongly.
      const data = await prepareFileAtomic(`${target}.data`, (sink) => sink.write(enc.externalData!));
      let ckpt;
      try {
        ckpt = await prepareFileAtomic(target, (sink) => sink.write(enc.checkpoint));
      } catch (e) {
        await data.abort();
        throw e;
      }
      await data.commit();
      await ckpt.commit();
      return;
    }
    case 'safetensors':
      await writeBytesAtomic(target, encodeSafetensors(state));
      return;
    case 'pbseq':
      await writeDirAtomic(target, encodeLegacyDir(state), isLegacyCheckpointFile);
      return;
    default:
      throw new OnnxTrainError('BAD_ARGUMENT', `unknown checkpoint format "${String(format)}"`, 'use "odtc", "safetensors" or "pbseq"');
  }
}
