/**
 * The parse-only baseline of the analyze benchmark, as its own program: `node dist/bench/detect-parse.js
 * FILE` reads a sample file with the reader `cellwatch analyze` uses (readSampleFile, validating every
 * record) into the same columns, and stops there. Run beside `cellwatch analyze` on the same file, the
 * difference is what the analysis costs.
 */
import { readSampleFile } from '../collectors/intake/index.js';
import { SampleColumns } from '../correlator/index.js';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: detect-parse FILE\n');
  process.exit(2);
}
const cols = new SampleColumns();
const read = await readSampleFile(file, { add: (s) => cols.append(s), addLink: () => undefined });
process.stdout.write(`${JSON.stringify({ samples: cols.length, rejected: read.rejectedCount })}\n`);
