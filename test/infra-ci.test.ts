// .ci/run: its summary line is what CI reads, so it is tested on real captured tap output, and its
// step logic on stand-in npm/apt commands (running the real thing here would install and test the
// whole tree).
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { makeTempDir } from './helpers/service.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const script = join(root, '.ci', 'run');
const fixtures = join(root, 'test', 'fixtures', 'ci-summary');

function run(args: string[], env: NodeJS.ProcessEnv = process.env, cwd = root) {
  const res = spawnSync('bash', args, { cwd, env, encoding: 'utf8', timeout: 30_000 });
  const lines = res.stdout.trimEnd().split('\n');
  return { status: res.status, stdout: res.stdout, stderr: res.stderr, last: lines[lines.length - 1] ?? '' };
}

void t.test('--summarize turns tap\'s closing "# { total … }" line into the CI line', async (t) => {
  const cases = [
    { spec: 'all green', log: 'green.tap', line: '65 passed, 0 failed', status: 0 },
    {
      spec: 'a failure, a todo and a skip: todo counts as skipped, exit 1',
      log: 'mixed.tap',
      line: '2 passed, 1 failed, 2 skipped',
      status: 1,
    },
    {
      spec: 'colour codes around the line (FORCE_COLOR) are ignored',
      log: 'mixed-colour.tap',
      line: '2 passed, 1 failed, 2 skipped',
      status: 1,
    },
    { spec: 'skips only: still green', log: 'skips.tap', line: '1 passed, 0 failed, 1 skipped', status: 0 },
    { spec: 'cut-off log: no line, exit 2', log: 'cut-off.tap', line: '', status: 2 },
  ];
  for (const c of cases) {
    const res = run([script, '--summarize', join(fixtures, c.log)]);
    t.equal(res.stdout.trim(), c.line, `${c.spec}: line`);
    t.equal(res.status, c.status, `${c.spec}: exit status`);
  }
  const dir = await makeTempDir('cellwatch-ci');
  const noTests = join(dir, 'none.log');
  writeFileSync(noTests, 'TAP version 14\n1..0\n# { total: 0 }\n');
  const res = run([script, '--summarize', noTests]);
  t.equal(res.stdout.trim(), '0 passed, 0 failed');
  t.equal(res.status, 1, 'a run with no test at all is a failure');
  t.match(res.stderr, /ran no test/);
});

/**
 * A fake checkout: .ci/run copied into a temp dir, with npm, apt-get and dpkg-query replaced by
 * scripts that log their arguments and behave as the case says.
 */
async function fakeCheckout(behaviour: {
  typecheck?: number;
  lint?: number;
  format?: number;
  testLog: string;
  testExit: number;
  installed: boolean;
}) {
  const dir = await makeTempDir('cellwatch-ci');
  mkdirSync(join(dir, '.ci'));
  copyFileSync(script, join(dir, '.ci', 'run'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const calls = join(dir, 'calls.txt');
  const tool = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/bash\necho "${name} $*" >> '${calls}'\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  tool(
    'npm',
    `case "$*" in
  "ci") exit 0 ;;
  "run typecheck") exit ${behaviour.typecheck ?? 0} ;;
  "run lint") exit ${behaviour.lint ?? 0} ;;
  "run format:check") exit ${behaviour.format ?? 0} ;;
  "test") echo "CI=$CI" >> '${calls}'; cat '${join(fixtures, behaviour.testLog)}'; exit ${behaviour.testExit} ;;
esac
exit 99`,
  );
  tool(
    'apt-get',
    `if [ -x "$CELLWATCH_POLICY_RC_D" ] && [ "$("$CELLWATCH_POLICY_RC_D")" = "" ]; then "$CELLWATCH_POLICY_RC_D"; echo "policy-rc.d says $?" >> '${calls}'; fi; exit 0`,
  );
  tool('dpkg-query', behaviour.installed ? "echo 'install ok installed'" : 'exit 1');
  // The policy-rc.d guard goes to a temp path: the test must not touch the machine's real one.
  const env = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    CI: 'true',
    CELLWATCH_POLICY_RC_D: join(dir, 'policy-rc.d'),
  };
  return { dir, env, calls: () => readFileSync(calls, 'utf8') };
}

void t.test('the full script: every step runs, the summary is the last line, the exit status tells', async (t) => {
  const cases = [
    {
      spec: 'all green',
      behaviour: { testLog: 'green.tap', testExit: 0, installed: true },
      last: '65 passed, 0 failed',
      ok: true,
    },
    {
      spec: 'lint fails, tests still run and are summarised',
      behaviour: { lint: 1, testLog: 'green.tap', testExit: 0, installed: true },
      last: '65 passed, 0 failed',
      ok: false,
    },
    {
      spec: 'the formatter finds unformatted files: a failed run, tests still summarised',
      behaviour: { format: 1, testLog: 'green.tap', testExit: 0, installed: true },
      last: '65 passed, 0 failed',
      ok: false,
    },
    {
      spec: 'type-check fails',
      behaviour: { typecheck: 2, testLog: 'skips.tap', testExit: 0, installed: true },
      last: '1 passed, 0 failed, 1 skipped',
      ok: false,
    },
    {
      spec: 'a test fails',
      behaviour: { testLog: 'mixed.tap', testExit: 1, installed: true },
      last: '2 passed, 1 failed, 2 skipped',
      ok: false,
    },
    {
      spec: 'the build before the tests fails: no summary to print',
      behaviour: { testLog: 'cut-off.tap', testExit: 2, installed: true },
      last: null,
      ok: false,
    },
  ];
  for (const c of cases) {
    const fake = await fakeCheckout(c.behaviour);
    const res = run([join(fake.dir, '.ci', 'run')], fake.env, fake.dir);
    if (c.last === null) t.notMatch(res.last, /passed, .* failed/, `${c.spec}: no made-up summary`);
    else t.equal(res.last, c.last, `${c.spec}: last line`);
    t.equal(res.status === 0, c.ok, `${c.spec}: exit status ${res.status}`);
    const calls = fake.calls();
    t.match(
      calls,
      /npm ci\nnpm run typecheck\nnpm run lint\nnpm run format:check\nnpm test\nCI=true\n/,
      `${c.spec}: steps in order`,
    );
    t.notMatch(calls, /apt-get/, `${c.spec}: packages present, apt left alone`);
  }
});

void t.test('missing packages: one apt-get update, then a non-interactive install of the list', async (t) => {
  const fake = await fakeCheckout({ testLog: 'green.tap', testExit: 0, installed: false });
  const res = run([join(fake.dir, '.ci', 'run')], fake.env, fake.dir);
  t.equal(res.status, 0);
  const aptCalls = fake
    .calls()
    .split('\n')
    .filter((l) => l.startsWith('apt-get'));
  // The list is the script's own; what matters is one update, then one install of all of it.
  const listed = /^APT_PACKAGES=\(([^)]*)\)/m.exec(readFileSync(join(fake.dir, '.ci', 'run'), 'utf8'))?.[1];
  t.ok(listed?.includes('influxdb') && listed.includes('snmpd'), 'the script lists the services the tests need');
  t.same(aptCalls, ['apt-get update', `apt-get install -y --no-install-recommends ${listed}`]);
  t.match(fake.calls(), /apt-get install .*\npolicy-rc.d says 101\n/, 'daemon starts forbidden during the install');
  t.notOk(existsSync(join(fake.dir, 'policy-rc.d')), 'the policy-rc.d it added for the install is gone again');
});
