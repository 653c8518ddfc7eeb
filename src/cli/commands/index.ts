/**
 * The subcommands, by name. Adding one is one line here plus its file in this folder exporting
 * `default defineCommand({...})`. Loaders keep start-up fast: only the command being run is imported.
 */
import type { CommandLoader } from '../command.js';

export const COMMANDS: Readonly<Record<string, CommandLoader>> = {
  inspect: () => import('./inspect.js'),
  conformance: () => import('./conformance.js'),
  demo: () => import('./demo.js'),
  train: () => import('./train.js'),
  augment: () => import('./augment.js'),
  lower: () => import('./lower.js'),
  export: () => import('./export.js'),
};
