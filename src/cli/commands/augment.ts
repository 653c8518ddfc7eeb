/**
 * `onnx-train augment <artifacts folder> --out <folder> [optimizer options]`: makes an onnxruntime-training
 * artifacts folder trainable on stock onnxruntime-node / -web (src/transforms/augment.ts).
 *
 * Also exports {@link nodeAugmentEnv}, the standard wiring of augment's ports: checkpoints through
 * src/checkpoint (ODTC v2 written), the load check through onnxruntime-node (CPU).
 */
import { OnnxTrainError } from '../../errors.js';
import { readCheckpoint, writeCheckpoint } from '../../checkpoint/io.js';
import { NodeEngine } from '../../runtime/adapters/node.js';
import { augment, HF_OPTIMIZERS, type AugmentEnv, type AugmentOptions, type AugmentResult } from '../../transforms/augment.js';
import { OPTIMIZER_TYPES } from '../../ops/optim/spec.js';
import { SCHEDULER_TYPES } from '../../ops/schedules/spec.js';
import { defineCommand } from '../command.js';

const OPTIMIZER_CHOICES = [...new Set<string>([...HF_OPTIMIZERS, ...OPTIMIZER_TYPES])];
const SCHEDULES = SCHEDULER_TYPES.filter((s) => s !== 'reduce_lr_on_plateau');

/** augment's ports wired to src/checkpoint (ODTC v2) and onnxruntime-node (CPU load check). */
export function nodeAugmentEnv(opts: { checkLoads?: boolean } = {}): AugmentEnv {
  const engine = new NodeEngine('cpu');
  return {
    readCheckpoint: (file) => readCheckpoint(file),
    writeCheckpoint: (file, state) => writeCheckpoint(file, state, { format: 'odtc', odtcVersion: 2 }),
    ...(opts.checkLoads === false ? {} : {
      async checkLoads(model: Uint8Array, label: string) {
        try {
          const s = await engine.load(model);
          await s.release();
        } catch (e) {
          const msg = e instanceof OnnxTrainError ? e.what : (e as Error).message;
          throw new OnnxTrainError('RUNTIME', `${label} does not load in onnxruntime-node: ${msg}`, 'this is a bug in onnx-train; please report it with the artifacts', label);
        }
      },
    }),
  };
}

/** Augments with the standard env (see the command). */
export function augmentFolder(folder: string, opts: AugmentOptions): Promise<AugmentResult> {
  return augment(folder, opts, nodeAugmentEnv());
}

function number(flag: string, v: string | undefined, opts: { int?: boolean; min?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min)) {
    throw new OnnxTrainError('BAD_ARGUMENT', `--${flag} needs ${opts.int ? 'an integer' : 'a number'}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''} (got "${v}")`, `run "onnx-train augment --help" for usage`);
  }
  return n;
}

/** `k=v,k2=v2` (HF optim_args / lr_scheduler_kwargs); values parsed as JSON when they are JSON, else strings. */
export function parseKeyValues(flag: string, items: readonly string[]): Record<string, unknown> | undefined {
  if (!items.length) return undefined;
  const out: Record<string, unknown> = {};
  for (const item of items.flatMap((s) => s.split(','))) {
    if (!item.trim()) continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw new OnnxTrainError('BAD_ARGUMENT', `--${flag} takes key=value pairs (got "${item}")`, `e.g. --${flag} momentum=0.9,nesterov=true`);
    const k = item.slice(0, eq).trim();
    const raw = item.slice(eq + 1).trim();
    let v: unknown = raw;
    if (raw === 'None' || raw === 'null') v = null;
    else if (raw === 'True') v = true;
    else if (raw === 'False') v = false;
    else { try { v = JSON.parse(raw); } catch { v = raw; } }
    out[k] = v;
  }
  return out;
}

export default defineCommand({
  name: 'augment',
  summary: 'make an onnxruntime-training artifacts folder trainable on stock onnxruntime-node/-web',
  positionals: { usage: '<artifacts folder>', min: 1, max: 1 },
  flags: {
    out: { type: 'string', description: 'folder to write (must not exist unless --force)', placeholder: 'folder' },
    force: { type: 'boolean', description: 'replace the output folder if it exists' },
    checkpoint: { type: 'string', description: 'take the parameters from this checkpoint instead of the folder\'s', placeholder: 'ckpt' },
    seed: { type: 'string', description: 'seed of the random init used when there is no checkpoint', placeholder: 'n', default: '0' },
    'no-fuse': { type: 'boolean', description: 'do not build train_step.onnx' },
    optimizer: { type: 'string', description: `optimizer: ${OPTIMIZER_CHOICES.join(', ')} (default: the original one with its attributes)`, choices: OPTIMIZER_CHOICES, placeholder: 'name' },
    'learning-rate': { type: 'string', description: 'base learning rate (default: the optimizer\'s; 1e-3 for the original AdamW)', placeholder: 'lr' },
    'weight-decay': { type: 'string', description: 'weight decay', placeholder: 'wd' },
    'adam-beta1': { type: 'string', description: 'β1', placeholder: 'b1' },
    'adam-beta2': { type: 'string', description: 'β2', placeholder: 'b2' },
    'adam-epsilon': { type: 'string', description: 'ε', placeholder: 'eps' },
    'lr-scheduler-type': { type: 'string', description: `in-graph lr schedule: ${SCHEDULES.join(', ')} (default: none, the lr is an input)`, choices: SCHEDULES, placeholder: 'type' },
    'warmup-steps': { type: 'string', description: 'schedule warmup steps', placeholder: 'n' },
    'num-training-steps': { type: 'string', description: 'schedule length in optimizer updates', placeholder: 'n' },
    'lr-scheduler-kwargs': { type: 'string[]', description: 'extra schedule arguments key=value', placeholder: 'k=v' },
    'max-grad-norm': { type: 'string', description: 'clip gradients by global norm (default: no clipping)', placeholder: 'norm' },
    'optim-args': { type: 'string[]', description: 'extra optimizer arguments key=value (HF optim_args)', placeholder: 'k=v' },
    'no-weight-decay': { type: 'string[]', description: 'parameter without weight decay', placeholder: 'name' },
    json: { type: 'boolean', description: 'print the manifest as JSON' },
  },
  details: [
    'Writes training_model.onnx (lowered), eval_model.onnx, optimizer_model.onnx (standard ops), train_step.onnx',
    '(forward+backward+optimizer in one graph), checkpoint (ODTC v2 with zero optimizer state) and manifest.json.',
    'Everything is validated and loaded in onnxruntime-node before the folder appears; on failure nothing is written.',
  ].join('\n'),
  async run(args, io) {
    const f = args.flags;
    if (!f.out) throw new OnnxTrainError('BAD_ARGUMENT', 'missing --out <folder>', 'run "onnx-train augment --help" for usage');
    const r = await augmentFolder(args.positionals[0]!, {
      out: f.out,
      overwrite: f.force,
      checkpoint: f.checkpoint,
      seed: number('seed', f.seed, { int: true, min: 0 }),
      fuse: !f['no-fuse'],
      optimizer: f.optimizer as AugmentOptions['optimizer'],
      learningRate: number('learning-rate', f['learning-rate']),
      weightDecay: number('weight-decay', f['weight-decay']),
      adamBeta1: number('adam-beta1', f['adam-beta1']),
      adamBeta2: number('adam-beta2', f['adam-beta2']),
      adamEpsilon: number('adam-epsilon', f['adam-epsilon']),
      lrSchedulerType: f['lr-scheduler-type'],
      warmupSteps: number('warmup-steps', f['warmup-steps'], { int: true, min: 0 }),
      numTrainingSteps: number('num-training-steps', f['num-training-steps'], { int: true, min: 1 }),
      lrSchedulerKwargs: parseKeyValues('lr-scheduler-kwargs', f['lr-scheduler-kwargs']),
      maxGradNorm: number('max-grad-norm', f['max-grad-norm'], { min: 0 }),
      optimArgs: parseKeyValues('optim-args', f['optim-args']),
      noWeightDecay: f['no-weight-decay'].length ? f['no-weight-decay'] : undefined,
      onWarning: (m) => io.err(`note: ${m}\n`),
    });
    if (f.json) {
      io.out(`${JSON.stringify(r.manifest, null, 2)}\n`);
    } else {
      const m = r.manifest;
      const trainable = m.parameters.filter((p) => p.trainable).length;
      io.out([
        `wrote ${r.folder}`,
        `  parameters: ${m.parameters.length} (${trainable} trainable)${r.randomInit ? ', randomly initialised' : ''}`,
        `  optimizer: ${String(m.optimizer.spec.type)} lr ${m.optimizer.lr}${m.optimizer.schedule ? ` schedule ${String(m.optimizer.schedule.type)}` : ''}${m.optimizer.maxGradNorm ? ` clip ${m.optimizer.maxGradNorm}` : ''}`,
        `  files: ${Object.values(m.files).filter(Boolean).join(', ')}, manifest.json`,
        '',
      ].join('\n'));
    }
    return 0;
  },
});
