/**
 * The parse-only baseline of the analyze benchmark, as its own program: `node dist/bench/detect-parse.js
 * FILE` reads a sample file with the reader `cellwatch analyze` uses (readSampleFile, validating every
 * record) into the same columns, and stops there. Run beside `cellwatch analyze` on the same file, the
 * difference is what the analysis costs. With `--threads 2` it reads as `cellwatch analyze` does on
 * two cores (a JSON-lines file by halves, the second in a worker thread: daemon/analyze.ts).
 */
import { readSampleFile } from '../collectors/intake/index.js';
import { SampleColumns } from '../correlator/index.js';
import { expectedRecords, readSamples } from '../daemon/analyze.js';
import { PartWorker } from '../daemon/part-worker.js';

const [file, flag, threads] = process.argv.slice(2);
if (!file || (flag !== undefined && (flag !== '--threads' || (threads !== '1' && threads !== '2')))) {
  process.stderr.write('usage: detect-parse FILE [--threads 1|2]\n');
  process.exit(2);
}
let samples: number;
let rejected: number;
if (threads === '2') {
  const expected = expectedRecords(file);
  const cols = new SampleColumns(expected, true);
  const helper = new PartWorker('analyze-part');
  const read = await readSamples(file, cols, [], helper, expected, () => undefined);
  await helper.terminate();
  samples = cols.length;
  rejected = read.rejectedCount;
} else {
  const cols = new SampleColumns();
  const read = await readSampleFile(file, { add: (s) => cols.append(s), addLink: () => undefined });
  samples = cols.length;
  rejected = read.rejectedCount;
}
process.stdout.write(`${JSON.stringify({ samples, rejected })}\n`);
