import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { AcceleratedClock, ManualClock, ManualScheduler, TimerScheduler } from '../clock/index.js';
import { nextTick } from '../clock/job.js';
import { eventually } from './helpers/service.js';

const T0 = Date.UTC(2026, 10, 30, 0, 0, 0); // a Monday, 00:00 UTC

void t.test('nextTick aligns to the interval grid', async (t) => {
  const cases: { spec: string; t: number; every: number; offset?: number; want: number }[] = [
    { spec: 'exactly on a tick goes to the next one', t: T0, every: 60_000, want: T0 + 60_000 },
    { spec: 'between ticks rounds up', t: T0 + 1, every: 60_000, want: T0 + 60_000 },
    { spec: 'offset shifts the grid', t: T0, every: 60_000, offset: 15_000, want: T0 + 15_000 },
    {
      spec: 'offset past the tick goes to the following period',
      t: T0 + 20_000,
      every: 60_000,
      offset: 15_000,
      want: T0 + 75_000,
    },
  ];
  for (const c of cases) t.equal(nextTick(c.t, c.every, c.offset), c.want, c.spec);
});

void t.test('ManualScheduler runs due ticks in time order with the clock at the tick', async (t) => {
  const clock = new ManualClock(T0);
  const s = new ManualScheduler(clock);
  const runs: string[] = [];
  s.every('a', 60_000, (tick) => void runs.push(`a@${(tick - T0) / 1000}:${(clock.now() - T0) / 1000}`));
  s.every('b', 90_000, (tick) => void runs.push(`b@${(tick - T0) / 1000}`));
  await s.advance(180_000);
  t.strictSame(runs, ['a@60:60', 'b@90', 'a@120:120', 'a@180:180', 'b@180']);
  t.equal(clock.now(), T0 + 180_000, 'clock ends at the target time');
  const job = s.every('c', 60_000, () => void runs.push('c'));
  job.cancel();
  await s.advance(60_000);
  t.notOk(runs.includes('c'), 'a cancelled job never runs');
});

void t.test('a failing run is reported and the schedule goes on', async (t) => {
  const clock = new ManualClock(T0);
  const s = new ManualScheduler(clock);
  const errors: number[] = [];
  let runs = 0;
  s.every(
    'flaky',
    1000,
    () => {
      runs += 1;
      if (runs === 1) throw new Error('boom');
    },
    { onError: (_err, tick) => errors.push(tick) },
  );
  await s.advance(3000);
  t.equal(runs, 3);
  t.strictSame(errors, [T0 + 1000]);
});

void t.test('cron expressions follow the injected clock and time zone', async (t) => {
  const clock = new ManualClock(T0);
  const s = new ManualScheduler(clock);
  const fired: string[] = [];
  // 03:00 in Shanghai is 19:00 UTC the day before.
  s.cron('daily', '0 3 * * *', (tick) => void fired.push(new Date(tick).toISOString()), { timezone: 'Asia/Shanghai' });
  await s.advance(2 * 86_400_000);
  t.strictSame(fired, ['2026-11-30T19:00:00.000Z', '2026-12-01T19:00:00.000Z']);
  t.throws(() => s.cron('bad', '61 * * * *', () => undefined), /invalid cron expression/);
});

void t.test('TimerScheduler on an accelerated clock skips a tick while the previous run is still going', async (t) => {
  // 1 clock minute per 20 real ms; a run that takes ~50 real ms overlaps the next tick or two.
  const clock = new AcceleratedClock(T0, 3000);
  const s = new TimerScheduler(clock);
  const ticks: number[] = [];
  const skipped: number[] = [];
  let aborted = false;
  s.every(
    'slow',
    60_000,
    async (tick, signal) => {
      ticks.push(tick);
      signal.addEventListener('abort', () => (aborted = true));
      await sleep(50);
    },
    { onSkip: (tick) => skipped.push(tick) },
  );
  await eventually(() => ticks.length >= 2 && skipped.length >= 1, 5000);
  await s.stop({ abort: true });
  t.ok(ticks.length >= 2, `ran (${ticks.length} runs)`);
  t.ok(skipped.length >= 1, `skipped overlapping ticks (${skipped.length})`);
  t.ok(
    ticks.every((tick) => (tick - T0) % 60_000 === 0),
    'ticks are aligned to the minute',
  );
  for (const tick of skipped) t.notOk(ticks.includes(tick), 'a skipped tick never also ran');
  t.ok(aborted, 'stop({abort}) fires the running task signal');
  const after = ticks.length;
  await sleep(100);
  t.equal(ticks.length, after, 'no runs after stop');
});
