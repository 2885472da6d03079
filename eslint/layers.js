// @ts-check
/**
 * The layering of DESIGN.md, kept by the linter instead of by memory. Each top-level folder may import
 * only the folders listed for it (clock/ is the injected time every layer is handed, so all may import
 * it); `correlator/` is pure logic over plain data: model/ only, and no Node built-ins or I/O
 * libraries. Outside clock/, nothing reads the wall clock or arms a raw timer: time comes from the
 * injected Clock and real-time waits from its Timers port — except in the few I/O places named in
 * REAL_TIME_EXCEPTIONS. test/ and bench/ may import everything.
 *
 * eslint.config.js spreads these blocks; test/lint-layers.test.ts lints small probes against them, so
 * a rule that stops biting fails a test.
 */

/** folder → the folders it may import (besides itself). */
export const LAYERS = {
  model: [],
  clock: ['model'],
  config: ['model', 'clock'],
  collectors: ['model', 'clock', 'config'],
  store: ['model', 'clock', 'config'],
  correlator: ['model'],
  alerts: ['model', 'clock', 'config', 'store'],
  sim: ['model', 'clock'],
  daemon: ['model', 'clock', 'config', 'collectors', 'store', 'correlator', 'alerts', 'sim'],
};

/** Files that keep real timers by design: the write pipeline's batching and backoff, the InfluxDB backends. */
export const REAL_TIME_EXCEPTIONS = ['store/pipeline.ts', 'store/influxv1.ts', 'store/influxv2.ts'];

const FOLDERS = Object.keys(LAYERS);
const NODE_IO = ['fs', 'net', 'http', 'https', 'dgram', 'child_process', 'worker_threads', 'timers', 'os', 'crypto'];

/** @param {string} folder */
function importRule(folder) {
  const allowed = new Set([folder, ...LAYERS[/** @type {keyof typeof LAYERS} */ (folder)]]);
  const forbidden = FOLDERS.filter((f) => !allowed.has(f));
  /** @type {any[]} */
  const patterns = [];
  if (forbidden.length > 0) {
    patterns.push({
      regex: `^(\\.\\./)+(${forbidden.join('|')})(/|$)`,
      message: `${folder}/ may import only ${[...allowed].filter((f) => f !== folder).join(', ') || 'nothing outside itself'} (DESIGN.md layering; see eslint/layers.js)`,
    });
  }
  if (folder === 'correlator') {
    patterns.push({
      regex: `^(node:)?(${NODE_IO.join('|')})(/|$)`,
      message: 'correlator/ is pure: no I/O, no clock — take data and `now` as arguments',
    });
    patterns.push({
      regex: '^(better-sqlite3|pino|fastify|ws|net-snmp|influx|@influxdata/.*|prom-client|node-cron)$',
      message: 'correlator/ is pure: no I/O libraries',
    });
  }
  const timerImports = ['setTimeout', 'setInterval'];
  return [
    'error',
    {
      patterns,
      paths: [
        { name: 'node:timers', importNames: timerImports, message: 'use the Timers port from clock/' },
        { name: 'node:timers/promises', importNames: timerImports, message: 'use the Timers port from clock/' },
      ],
    },
  ];
}

const clockMessage = 'read time from the injected Clock and wait with its Timers (clock/): tests drive both';

const realTimeRules = {
  'no-restricted-globals': [
    'error',
    { name: 'setTimeout', message: clockMessage },
    { name: 'setInterval', message: clockMessage },
  ],
  'no-restricted-properties': [
    'error',
    { object: 'Date', property: 'now', message: clockMessage },
    { object: 'globalThis', property: 'setTimeout', message: clockMessage },
    { object: 'globalThis', property: 'setInterval', message: clockMessage },
  ],
  'no-restricted-syntax': [
    'error',
    { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: clockMessage },
  ],
};

/** @type {import('eslint').Linter.Config[]} */
export const layerConfigs = [
  ...FOLDERS.map((folder) => ({
    files: [`${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': importRule(folder),
      ...(folder === 'clock' ? {} : realTimeRules),
    },
  })),
  {
    files: REAL_TIME_EXCEPTIONS,
    rules: { 'no-restricted-globals': 'off', 'no-restricted-properties': 'off', 'no-restricted-syntax': 'off' },
  },
];
