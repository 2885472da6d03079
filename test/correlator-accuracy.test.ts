/**
 * The simulator's ground truth against `analyze`: a week of 1-minute samples from 40 sites (three
 * weeks of hourly history before it, so hour-of-week baselines exist), with the simulator's own
 * incident schedule plus injected sleeping cells. Targets from issue 8: recall ≥ 0.95, cause
 * accuracy ≥ 0.85, and few windows where nothing was injected. The figures go to the bench too.
 */
import t from 'tap';
import { simAccuracy } from './helpers/detect-accuracy.js';

void t.test('simulated week: recall, cause accuracy, precision', async (t) => {
  const r = simAccuracy({
    seed: 3,
    sites: 40,
    regions: 2,
    days: 7,
    historyWeeks: 3,
    historyStepMin: 15,
    stepMin: 1,
    sleeping: 6,
  });
  const show = (x: { id: string; kind: string; severity: number; start: number; end: number }) =>
    `${x.id} ${x.kind} sev ${x.severity} ${(x.end - x.start) / 60_000} min`;
  t.comment(
    `recall ${r.recall.toFixed(3)}, cause accuracy ${r.causeAccuracy.toFixed(3)}, precision ${r.precision.toFixed(3)} ` +
      `(${r.precisionWithLoad.toFixed(3)} counting load-degraded cells), ${r.windows} windows, ${r.samples} samples, ` +
      `simulate ${r.seconds.simulate.toFixed(1)} s, analyze ${r.seconds.analyze.toFixed(1)} s`,
  );
  t.comment(`by kind: ${JSON.stringify(r.byKind)}; unaffected incidents ${JSON.stringify(r.unaffected)}`);
  for (const m of r.missed) t.comment(`missed: ${show(m)}`);
  for (const w of r.wrongCause) t.comment(`wrong cause: ${show(w.incident)} → ${w.cause}`);
  t.ok(Object.keys(r.byKind).length >= 5, `most incident kinds occur (${Object.keys(r.byKind).join(', ')})`);
  t.ok((r.byKind.sleeping?.incidents ?? 0) >= 4, 'the injected sleeping cells are scored');
  t.ok(r.recall >= 0.95, `recall ${r.recall.toFixed(3)} ≥ 0.95`);
  t.ok(r.causeAccuracy >= 0.85, `cause accuracy ${r.causeAccuracy.toFixed(3)} ≥ 0.85`);
  t.equal(r.byKind.sleeping?.found, r.byKind.sleeping?.incidents, 'every sleeping cell is found');
  t.ok(
    r.strayWindows.length <= 0.2 * r.windows,
    `windows with neither an incident nor load behind them: ${r.strayWindows.length} of ${r.windows}`,
  );
});
