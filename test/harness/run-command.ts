import { spawn, SpawnOptions } from 'child_process';

/** Options of `runCommand`. */
export interface RunCommandOptions extends Pick<SpawnOptions, 'cwd' | 'env' | 'uid' | 'gid'> {
  /** Killed with SIGKILL after this long. */
  readonly timeoutMs: number;
  /** Resolve with stdout whatever the exit status. */
  readonly allowFailure?: boolean;
  /** How the command is named in errors. */
  readonly label?: string;
}

/**
 * Run a command to completion and resolve its stdout; reject, with stdout and stderr, when it
 * exits non-zero (unless `allowFailure`), is killed at the timeout, or cannot start.
 */
export function runCommand(command: string, args: string[], options: RunCommandOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      uid: options.uid,
      gid: options.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => { stdout += d; });
    child.stderr!.on('data', (d) => { stderr += d; });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0 || options.allowFailure) resolve(stdout);
      else reject(new Error(`${options.label ?? command} ${args.join(' ')} failed (${code ?? signal}):\n${stdout}${stderr}`));
    });
  });
}
