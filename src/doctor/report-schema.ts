import { FAIL_ON_CHOICES, SECTIONS, SEVERITIES } from './finding';
import { REPORT_SCHEMA_VERSION } from './report';

const finding = {
  type: 'object',
  additionalProperties: false,
  required: ['check', 'section', 'severity', 'subject', 'title', 'evidence'],
  properties: {
    check: { type: 'string', pattern: '^(broker|metrics|fleet|live)\\.[a-z0-9-]+$', description: 'Stable id of the check.' },
    section: { enum: [...SECTIONS] },
    severity: { enum: [...SEVERITIES] },
    subject: { type: 'string', description: 'What the finding is about: broker, alarm, Auto Scaling group or worker node(s).' },
    title: { type: 'string' },
    evidence: { type: 'array', items: { type: 'string' } },
    fix: { type: 'string', description: 'The construct prop or setting that addresses it; absent for ok findings.' },
  },
};

const section = {
  type: 'object',
  additionalProperties: false,
  required: ['status'],
  properties: { status: { enum: ['read', 'skipped', 'failed'] }, reason: { type: 'string' } },
};

/**
 * JSON Schema (draft-07) of `cdk-celery doctor --json`. Printed by `--json-schema`; the tests
 * validate real output against it.
 */
export const REPORT_JSON_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: `https://github.com/cdk-celery/cdk-celery/doctor-report-v${REPORT_SCHEMA_VERSION}.json`,
  title: 'cdk-celery doctor report',
  type: 'object',
  additionalProperties: false,
  required: ['schemaVersion', 'generatedAt', 'input', 'sections', 'findings', 'remoteControlRequests', 'summary'],
  properties: {
    schemaVersion: { const: REPORT_SCHEMA_VERSION },
    generatedAt: { type: 'string', format: 'date-time' },
    input: {
      type: 'object',
      additionalProperties: false,
      required: ['autoScalingGroups', 'window', 'failOn'],
      properties: {
        broker: { type: 'string' },
        region: { type: 'string' },
        autoScalingGroups: { type: 'array', items: { type: 'string' } },
        window: {
          type: 'object',
          additionalProperties: false,
          required: ['start', 'end'],
          properties: { start: { type: 'string', format: 'date-time' }, end: { type: 'string', format: 'date-time' } },
        },
        failOn: { enum: [...FAIL_ON_CHOICES] },
      },
    },
    sections: {
      type: 'object',
      additionalProperties: false,
      required: [...SECTIONS],
      properties: Object.fromEntries(SECTIONS.map((s) => [s, section])),
    },
    findings: { type: 'array', items: finding },
    remoteControlRequests: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['method', 'destination', 'replies', 'replyBytes', 'dropped'],
        properties: {
          method: { enum: ['ping', 'stats', 'conf', 'active_queues', 'report'] },
          destination: { oneOf: [{ type: 'null' }, { type: 'array', items: { type: 'string' } }] },
          replies: { type: 'integer', minimum: 0 },
          replyBytes: { type: 'integer', minimum: 0 },
          dropped: { type: 'integer', minimum: 0 },
        },
      },
    },
    summary: {
      type: 'object',
      additionalProperties: false,
      required: ['worst', 'counts', 'joinCost', 'exitCode'],
      properties: {
        worst: { oneOf: [{ type: 'null' }, finding] },
        counts: {
          type: 'object',
          additionalProperties: false,
          required: [...SEVERITIES],
          properties: Object.fromEntries(SEVERITIES.map((s) => [s, { type: 'integer', minimum: 0 }])),
        },
        joinCost: {
          oneOf: [{ type: 'null' }, {
            type: 'object',
            additionalProperties: false,
            required: ['bytes', 'mingle', 'answeringWorkers', 'revokedIdsPerWorker', 'text'],
            properties: {
              fleet: { type: 'string' },
              bytes: { type: 'number', minimum: 0 },
              mingle: { enum: [true, false, 'unknown'] },
              answeringWorkers: { type: 'integer', minimum: 0 },
              revokedIdsPerWorker: { type: 'integer', minimum: 0 },
              text: { type: 'string' },
            },
          }],
        },
        exitCode: { enum: [0, 1, 3] },
      },
    },
  },
} as const;
