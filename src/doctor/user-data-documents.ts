import { gunzipSync } from 'zlib';
import { parse as parseYaml } from 'yaml';

/**
 * Launch template user data comes as a shell script, a cloud-config document, a MIME multipart
 * archive of both (CDK's `MultipartUserData`, cloud-init), possibly gzipped. The doctor reads
 * it as a list of documents: the scripts themselves and every file they (or cloud-config's
 * `write_files`) write, so that a systemd unit or a crontab written by a heredoc is judged as
 * what it is.
 */
export interface UserDataDocument {
  /** Where it comes from, for evidence: `user data`, `MIME part 2`, `/etc/systemd/system/celery.service`. */
  readonly origin: string;
  /** The path the document is written to, when it is a file. */
  readonly path?: string;
  readonly kind: 'shell' | 'systemd' | 'cron' | 'text';
  readonly text: string;
}

/** Largest decoded user data the doctor reads (AWS allows 16 KB before base64; gzip can hide more). */
const MAX_DECODED_BYTES = 1024 * 1024;

/** Decode launch template user data (base64, optionally gzip). */
export function decodeUserData(base64: string): string {
  const raw = Buffer.from(base64, 'base64');
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    return gunzipSync(raw, { maxOutputLength: MAX_DECODED_BYTES }).toString('utf8');
  }
  return raw.toString('utf8');
}

/** Split decoded user data into documents. */
export function userDataDocuments(text: string, origin = 'user data'): UserDataDocument[] {
  const normalized = text.replace(/\r\n/g, '\n');
  if (isMultipart(normalized)) return multipartDocuments(normalized, origin);
  if (/^#cloud-config\b/.test(normalized)) return cloudConfigDocuments(normalized, origin);
  return scriptDocuments(normalized, origin, undefined);
}

function isMultipart(text: string): boolean {
  const head = text.slice(0, text.indexOf('\n\n') >= 0 ? text.indexOf('\n\n') : 2000);
  return /^content-type:\s*multipart\//im.test(head);
}

function multipartDocuments(text: string, origin: string): UserDataDocument[] {
  const boundary = /boundary="?([^";\n]+)"?/i.exec(text)?.[1];
  if (!boundary) return [{ origin, kind: 'text', text }];
  const docs: UserDataDocument[] = [];
  const parts = text.split(`--${boundary}`).slice(1);
  parts.forEach((part, index) => {
    if (part.startsWith('--')) return; // closing delimiter
    const body = part.replace(/^\n/, '');
    const split = body.indexOf('\n\n');
    const headers = split >= 0 ? body.slice(0, split) : '';
    let content = split >= 0 ? body.slice(split + 2) : body;
    if (/content-transfer-encoding:\s*base64/i.test(headers)) {
      content = decodeUserData(content.replace(/\s+/g, ''));
    }
    const type = /content-type:\s*([^;\n]+)/i.exec(headers)?.[1]?.trim().toLowerCase() ?? '';
    const partOrigin = `${origin}, MIME part ${index + 1} (${type || 'no type'})`;
    docs.push(...userDataDocuments(content.replace(/\n$/, ''), partOrigin));
  });
  return docs;
}

function cloudConfigDocuments(text: string, origin: string): UserDataDocument[] {
  let config: { [key: string]: unknown } | undefined;
  try {
    config = parseYaml(text) as { [key: string]: unknown };
  } catch {
    return [{ origin, kind: 'text', text }];
  }
  const docs: UserDataDocument[] = [];
  const commands = (key: string) => {
    const list = config?.[key];
    if (!Array.isArray(list)) return;
    const lines = list.map((c) => Array.isArray(c) ? c.map(String).map(quoteWord).join(' ') : String(c));
    docs.push(...scriptDocuments(lines.join('\n'), `${origin}, cloud-config ${key}`, undefined));
  };
  commands('bootcmd');
  commands('runcmd');
  const files = config?.write_files;
  if (Array.isArray(files)) {
    for (const file of files as Array<{ [k: string]: unknown }>) {
      if (typeof file?.path !== 'string' || typeof file.content !== 'string') continue;
      let content = file.content;
      const encoding = String(file.encoding ?? '');
      if (/^(b64|base64)$/.test(encoding)) content = Buffer.from(content, 'base64').toString('utf8');
      else if (/gz/.test(encoding)) content = decodeUserData(content);
      docs.push(fileDocument(file.path, content, `${origin}, cloud-config write_files ${file.path}`));
    }
  }
  return docs.length > 0 ? docs : [{ origin, kind: 'text', text }];
}

function quoteWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, '\'\\\'\'')}'`;
}

/** `cat > PATH <<'EOF'`, `cat <<EOF > PATH`, `tee [-a] PATH <<EOF`, and this library's `put MODE PATH <<'EOF'`. */
const HEREDOC = /^(.*?)<<-?\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\2(.*)$/;

function heredocTarget(line: string): string | undefined {
  // The boot script CeleryWorkerFleet renders writes its files with a `put MODE PATH` function.
  const put = /^\s*put\s+[0-7]{3,4}\s+("?)([^\s"<>|;&]+)\1\s*$/.exec(line);
  if (put) return put[2];
  const redirect = /(?:^|\s)>>?\s*("?)([^\s"<>|;&]+)\1/.exec(line);
  if (redirect) return redirect[2];
  const tee = /\btee\s+(?:-a\s+)?("?)([^\s"<>|;&]+)\1/.exec(line);
  return tee?.[2];
}

/** A shell script and the files its heredocs write, with the heredoc bodies taken out of the script. */
function scriptDocuments(text: string, origin: string, path: string | undefined): UserDataDocument[] {
  const lines = text.split('\n');
  const script: string[] = [];
  const files: UserDataDocument[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = HEREDOC.exec(lines[i]);
    if (!m || /^\s*#/.test(lines[i])) {
      script.push(lines[i]);
      continue;
    }
    const delimiter = m[3];
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && lines[j].replace(/^\t+/, '') !== delimiter) body.push(lines[j++]);
    const target = heredocTarget(`${m[1]} ${m[4]}`);
    script.push(lines[i]);
    if (target) files.push(fileDocument(target, body.join('\n'), target));
    else script.push(...body);
    i = j;
  }
  const kind = path ? kindOf(path, text) : 'shell';
  return [{ origin, path, kind, text: script.join('\n') }, ...files];
}

function fileDocument(path: string, content: string, origin: string): UserDataDocument {
  const kind = kindOf(path, content);
  if (kind === 'shell') return scriptDocuments(content, origin, path)[0];
  return { origin, path, kind, text: content };
}

function kindOf(path: string, content: string): UserDataDocument['kind'] {
  if (/\.(service|timer)$/.test(path) || /^\[(Unit|Service|Timer)\]/m.test(content)) return 'systemd';
  if (/(^|\/)(crontab|cron\.d\/[^/]+|cron\.(daily|hourly|weekly)\/[^/]+)$|\/spool\/cron\//.test(path)) return 'cron';
  if (/\.(sh|bash)$/.test(path) || /^#!.*\b(ba|da|z)?sh\b/.test(content)) return 'shell';
  return 'text';
}
