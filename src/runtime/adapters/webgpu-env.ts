/**
 * The process environment onnxruntime-node's WebGPU EP needs on Linux. Its Dawn backend talks Vulkan; on a machine
 * without a GPU driver the SwiftShader software Vulkan that Debian's `chromium` package ships works:
 * `VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json`, plus `LD_LIBRARY_PATH=/usr/lib/chromium` when the
 * system has no `libvulkan.so.1` (package libvulkan1). The dynamic loader reads LD_LIBRARY_PATH only at process
 * start, so that part cannot be fixed in-process: the CLI re-executes itself instead (see src/cli/reexec.ts);
 * VK_ICD_FILENAMES alone can be set in-process before the first WebGPU session.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Where Debian's chromium package puts SwiftShader and its Vulkan loader. */
export const SWIFTSHADER_DIR = '/usr/lib/chromium';
export const SWIFTSHADER_ICD = path.join(SWIFTSHADER_DIR, 'vk_swiftshader_icd.json');

const SYSTEM_LIBVULKAN = [
  '/usr/lib/x86_64-linux-gnu/libvulkan.so.1',
  '/usr/lib/aarch64-linux-gnu/libvulkan.so.1',
  '/usr/lib64/libvulkan.so.1',
  '/usr/lib/libvulkan.so.1',
];
const SYSTEM_ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

export interface WebGpuEnvFix {
  /** Variables to add to the environment. */
  readonly env: Readonly<Record<string, string>>;
  /** True when the fix includes LD_LIBRARY_PATH, i.e. it only works in a new process. */
  readonly needsRestart: boolean;
}

function hasSystemLibvulkan(): boolean {
  return SYSTEM_LIBVULKAN.some((f) => fs.existsSync(f));
}

function hasSystemIcd(): boolean {
  return SYSTEM_ICD_DIRS.some((d) => {
    try {
      return fs.readdirSync(d).some((n) => n.endsWith('.json'));
    } catch {
      return false;
    }
  });
}

/** True when SwiftShader from the chromium package is installed. */
export function swiftShaderAvailable(): boolean {
  return fs.existsSync(SWIFTSHADER_ICD);
}

/**
 * The variables that make a WebGPU adapter available, or undefined when nothing is needed (the user set
 * VK_ICD_FILENAMES / VK_DRIVER_FILES, or the system has its own Vulkan driver) or nothing can help (not Linux,
 * no SwiftShader).
 */
export function webgpuEnvFix(env: NodeJS.ProcessEnv = process.env): WebGpuEnvFix | undefined {
  if (process.platform !== 'linux') return undefined;
  if (env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES) return undefined;
  const libvulkan = hasSystemLibvulkan();
  if (libvulkan && hasSystemIcd()) return undefined;
  if (!swiftShaderAvailable()) return undefined;
  const add: Record<string, string> = { VK_ICD_FILENAMES: SWIFTSHADER_ICD };
  const ld = (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  const needsLd = !libvulkan && !ld.includes(SWIFTSHADER_DIR);
  if (needsLd) add.LD_LIBRARY_PATH = [SWIFTSHADER_DIR, ...ld].join(':');
  return { env: add, needsRestart: needsLd };
}

/** The fix-it text for "no WebGPU adapter". */
export function webgpuHelp(): string {
  const install = swiftShaderAvailable() ? '' : 'install SwiftShader with "apt-get install -y chromium", then ';
  return `${install}run with VK_ICD_FILENAMES=${SWIFTSHADER_ICD} LD_LIBRARY_PATH=${SWIFTSHADER_DIR} ` +
    '(the onnx-train CLI sets these itself when they are missing), or use a machine with a Vulkan GPU driver';
}
