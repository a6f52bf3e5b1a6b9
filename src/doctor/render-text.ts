import { Finding, SECTIONS, SEVERITIES, Section } from './finding';
import { DoctorReport, EXIT } from './report';

/** Width of the human output: an 80-column terminal. */
export const TEXT_WIDTH = 80;

const SECTION_TITLES: { [S in Section]: string } = {
  broker: 'BROKER (Amazon MQ)',
  metrics: 'METRICS (CloudWatch)',
  fleet: 'FLEET (Auto Scaling launch configuration)',
  live: 'LIVE (management API and remote control)',
};

/** Word-wrap `text` to `width`, every line after the first indented by `indent` spaces. */
export function wrap(text: string, width: number, firstPrefix: string, restIndent: number): string[] {
  const lines: string[] = [];
  let line = firstPrefix;
  let empty = true;
  const room = () => width - line.length;
  for (let word of text.split(/\s+/).filter((w) => w !== '')) {
    // Words longer than a whole line are cut.
    while (word.length > width - restIndent) {
      if (!empty) {
        lines.push(line);
        line = ' '.repeat(restIndent);
      }
      const cut = width - restIndent;
      lines.push(line + word.slice(0, cut));
      line = ' '.repeat(restIndent);
      word = word.slice(cut);
      empty = true;
    }
    if (!empty && word.length + 1 > room()) {
      lines.push(line);
      line = ' '.repeat(restIndent);
      empty = true;
    }
    line += (empty ? '' : ' ') + word;
    empty = false;
  }
  lines.push(line);
  return lines.map((l) => l.replace(/\s+$/, ''));
}

function label(severity: string): string {
  return severity === 'ok' ? 'ok' : severity.toUpperCase();
}

function renderFinding(f: Finding, width: number): string[] {
  const tag = `  ${label(f.severity).padEnd(8)} `;
  if (f.severity === 'ok') {
    return wrap(`${f.check}: ${f.title} (${f.subject})`, width, tag, 13);
  }
  const out = [...wrap(`${f.check} (${f.subject})`, width, tag, 13)];
  out.push(...wrap(f.title, width, ' '.repeat(13), 13));
  for (const e of f.evidence) out.push(...wrap(e, width, ' '.repeat(13) + '- ', 15));
  if (f.fix) out.push(...wrap(f.fix, width, ' '.repeat(13) + 'fix: ', 18));
  return out;
}

/** The report for a terminal: no line longer than `width`. */
export function renderText(report: DoctorReport, width = TEXT_WIDTH): string {
  const out: string[] = [];
  const i = report.input;
  const head = `cdk-celery doctor: ${i.broker ? `broker ${i.broker}` : 'no Amazon MQ broker'}${i.region ? ` in ${i.region}` : ''}`
    + `${i.autoScalingGroups.length ? `, groups ${i.autoScalingGroups.join(', ')}` : ''}`
    + `, window ${i.window.start.slice(0, 16).replace('T', ' ')} to ${i.window.end.slice(0, 16).replace('T', ' ')} UTC`;
  out.push(...wrap(head, width, '', 2));
  for (const s of SECTIONS) {
    const status = report.sections[s];
    out.push('');
    out.push(...wrap(`${SECTION_TITLES[s]}: ${status.status}${status.reason ? ` (${status.reason})` : ''}`, width, '', 2));
    for (const f of report.findings.filter((x) => x.section === s)) out.push(...renderFinding(f, width));
  }
  out.push('');
  out.push('SUMMARY');
  const w = report.summary.worst;
  out.push(...wrap(w ? `${label(w.severity)} ${w.check} (${w.subject}): ${w.title}` : 'nothing above ok', width, '  worst: ', 9));
  if (report.summary.joinCost) out.push(...wrap(report.summary.joinCost.text, width, '  join: ', 9));
  const counts = SEVERITIES.map((sev) => `${report.summary.counts[sev]} ${sev}`).join(', ');
  out.push(...wrap(counts, width, '  findings: ', 12));
  const code = report.summary.exitCode;
  const why = code === EXIT.FINDINGS ? `findings at or above --fail-on ${i.failOn}`
    : code === EXIT.INCOMPLETE ? 'a requested section could not be read' : i.failOn === 'never' ? '--fail-on never' : `nothing at or above --fail-on ${i.failOn}`;
  out.push(...wrap(`${code} (${why})`, width, '  exit: ', 8));
  return out.join('\n') + '\n';
}
