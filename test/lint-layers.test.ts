/**
 * The layering rules of DESIGN.md are kept by the linter (eslint/layers.js). These probes lint small
 * snippets as if they were files in each folder, so a rule that stops biting — a typo in a pattern, a
 * folder renamed — fails here instead of letting a forbidden import or a raw timer slip in.
 */
import { join } from 'node:path';
import { ESLint } from 'eslint';
import t from 'tap';
import tseslint from 'typescript-eslint';
import { packageRoot } from '../daemon/paths.js';
import { layerConfigs } from '../eslint/layers.js';

const eslint = new ESLint({
  cwd: packageRoot,
  overrideConfigFile: true,
  overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, ...layerConfigs],
});

async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(packageRoot, file) });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

const cases: { spec: string; file: string; code: string; rule?: RegExp }[] = [
  {
    spec: 'correlator/ may import model/',
    file: 'correlator/probe.ts',
    code: "import type { Sample } from '../model/index.js';\nexport type S = Sample;\n",
  },
  {
    spec: 'correlator/ may not import the store',
    file: 'correlator/probe.ts',
    code: "import { RecordDb } from '../store/index.js';\nexport const x = RecordDb;\n",
    rule: /no-restricted-imports: .*correlator\/ may import only model/,
  },
  {
    spec: 'a nested correlator file may not reach the daemon either',
    file: 'correlator/complaints/probe.ts',
    code: "import { Daemon } from '../../daemon/daemon.js';\nexport const x = Daemon;\n",
    rule: /no-restricted-imports/,
  },
  {
    spec: 'correlator/ may not do I/O through Node built-ins',
    file: 'correlator/probe.ts',
    code: "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n",
    rule: /no-restricted-imports: .*correlator\/ is pure/,
  },
  {
    spec: 'collectors/ may not import the store',
    file: 'collectors/snmp/probe.ts',
    code: "import { samplePoint } from '../../store/schema.js';\nexport const x = samplePoint;\n",
    rule: /no-restricted-imports: .*collectors\/ may import only model, clock, config/,
  },
  {
    spec: 'collectors/ may import config/ and clock/',
    file: 'collectors/probe.ts',
    code: "import { realTimers } from '../clock/index.js';\nimport { parseConfig } from '../config/index.js';\nexport const x = [realTimers, parseConfig];\n",
  },
  {
    spec: 'the simulator may not import the daemon',
    file: 'sim/probe.ts',
    code: "import { Daemon } from '../daemon/daemon.js';\nexport const x = Daemon;\n",
    rule: /no-restricted-imports/,
  },
  {
    spec: 'model/ imports nothing outside itself',
    file: 'model/probe.ts',
    code: "import type { Clock } from '../clock/index.js';\nexport type C = Clock;\n",
    rule: /no-restricted-imports: .*model\/ may import only nothing outside itself/,
  },
  {
    spec: 'the daemon may import everything',
    file: 'daemon/probe.ts',
    code: "import { SimNetwork } from '../sim/index.js';\nimport { RecordDb } from '../store/index.js';\nexport const x = [SimNetwork, RecordDb];\n",
  },
  {
    spec: 'Date.now outside clock/ is refused',
    file: 'collectors/probe.ts',
    code: 'export const now = Date.now();\n',
    rule: /no-restricted-properties: .*read time from the injected Clock/,
  },
  {
    spec: 'a raw setTimeout outside clock/ is refused',
    file: 'daemon/probe.ts',
    code: 'setTimeout(() => undefined, 10);\n',
    rule: /no-restricted-globals/,
  },
  {
    spec: 'new Date() (the current time) outside clock/ is refused',
    file: 'alerts/probe.ts',
    code: 'export const d = new Date();\n',
    rule: /no-restricted-syntax/,
  },
  {
    spec: 'new Date(ts) only formats a time, which is fine',
    file: 'alerts/probe.ts',
    code: 'export const d = (ts: number) => new Date(ts).toISOString();\n',
  },
  {
    spec: 'setTimeout imported from node:timers/promises is refused too',
    file: 'store/probe.ts',
    code: "import { setTimeout as sleep } from 'node:timers/promises';\nexport const x = sleep;\n",
    rule: /no-restricted-imports: .*Timers port/,
  },
  {
    spec: 'clock/ is where real time lives',
    file: 'clock/probe.ts',
    code: 'export const now = Date.now();\nsetTimeout(() => undefined, 1);\n',
  },
  {
    spec: 'the write pipeline keeps its real timers by design',
    file: 'store/pipeline.ts',
    code: 'setTimeout(() => undefined, 1);\nexport const t = Date.now();\n',
  },
  {
    spec: 'tests may do what they like',
    file: 'test/probe.test.ts',
    code: "import { Daemon } from '../daemon/daemon.js';\nexport const x = [Daemon, Date.now()];\n",
  },
];

void t.test('layering and real-time rules bite where DESIGN.md says, and only there', async (t) => {
  for (const c of cases) {
    const found = await problems(c.file, c.code);
    if (c.rule)
      t.ok(
        found.some((p) => c.rule!.test(p)),
        `${c.spec} (${found.join(' | ') || 'no problem reported'})`,
      );
    else t.same(found, [], c.spec);
  }
});
