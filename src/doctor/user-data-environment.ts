import { UserDataDocument } from './user-data-documents';
import { logicalLines } from './worker-command-line';

/**
 * Environment variables that user data sets for the worker, as far as it shows them: systemd
 * `Environment=` lines, `export NAME=value`, and files of `NAME=value` lines (EnvironmentFile=).
 * Only names that concern Celery (`CELERY_*`) are kept; values are never printed for other names.
 */
export function celeryEnvironment(docs: UserDataDocument[]): { [name: string]: string } {
  const env: { [name: string]: string } = {};
  const assign = (text: string) => {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(text);
    if (m && m[1].startsWith('CELERY_')) env[m[1]] = m[2].replace(/^(["'])(.*)\1$/, '$2');
  };
  for (const doc of docs) {
    for (const raw of logicalLines(doc.text)) {
      const line = raw.trim();
      const systemd = /^Environment=(.*)$/.exec(line);
      if (systemd) {
        // Environment="A=1" "B=2" or Environment=A=1 B=2
        for (const m of systemd[1].matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
          assign((m[1] ?? m[2]).replace(/\\(.)/g, '$1').replace(/%%/g, '%'));
        }
        continue;
      }
      const exported = /^(?:export\s+)?([A-Z_][A-Z0-9_]*=\S*)$/.exec(line);
      if (exported) assign(exported[1]);
    }
  }
  return env;
}
