/**
 * Intake decoding: samples and complaints from JSON, CSV and InfluxDB line protocol, as values.
 *
 * Everything here takes text, parsed JSON, bytes or a file path and returns what it decoded plus what
 * it refused — no HTTP, no database, no clock (a "now" is an argument). The daemon's routes, the CLI's
 * `analyze` and `import`, and the push intake are thin wiring around these functions.
 *
 * The rules every decoder follows (docs/intake.md is the integrator's version):
 * - a bad row is refused with a `Rejection` naming its position, field and reason; the rest are kept;
 * - unknown fields (JSON keys, CSV columns, line-protocol fields no mapping names) are ignored and
 *   counted by name in `ignoredFields`, never silently: a sender newer than this cellwatch keeps
 *   working, and a typo shows up in the answer instead of vanishing;
 * - times are event times: epoch milliseconds or RFC 3339 (time.ts);
 * - values are range-checked against one field table (fields.ts), whatever the format.
 *
 *   JSON value ─ decodeSample ──────────────┐
 *   CSV row ─── SampleCsvDecoder ───────────┼─> SampleSink.add(sample) / addLink(link)
 *   LP line ─── parseLine ─ mapPoint ───────┘         (an array, or the correlator's columnar builder)
 *   files ───── readSampleFile (streaming; format from the extension or sniffed)
 *   complaints: decodeComplaint / decodeComplaintCsv / readComplaintFile (zod) ─> Complaint
 */
import type { LinkSample, Sample } from '../../model/index.js';

/**
 * One refused record. `index` is its 0-based position among the records of the input (array element,
 * CSV data row, non-blank JSONL or line-protocol line); `line` is the 1-based line of the text or file
 * where it starts (absent for parsed JSON, which has no lines).
 */
export interface Rejection {
  index: number;
  line?: number;
  /** The field at fault, when one is (`ts`, `dlMbps`, `receivedAt`…). */
  field?: string;
  error: string;
}

/**
 * Where decoded samples go. The file reader and the body decoders feed either an array (`ArraySink`)
 * or the correlator's columnar builder through this, so nothing is allocated twice. `add` must not keep
 * the object if it will be reused — decoders hand over a fresh object per sample, never reuse one.
 */
export interface SampleSink {
  add(s: Sample): void;
  /** Transport-link samples; without it links are counted in `linksIgnored` and dropped. */
  addLink?(l: LinkSample): void;
}

/** A sink that keeps everything in arrays: push bodies, tests, small files. */
export class ArraySink implements SampleSink {
  readonly samples: Sample[] = [];
  readonly links: LinkSample[] = [];
  add(s: Sample): void {
    this.samples.push(s);
  }
  addLink(l: LinkSample): void {
    this.links.push(l);
  }
}

/** Counts every decoder returns beside its rejections. */
export interface IntakeCounts {
  /** Cell samples handed to the sink. */
  samples: number;
  /** Link samples handed to the sink. */
  links: number;
  /** Link samples dropped because the sink takes no links. */
  linksIgnored: number;
  /** Records refused (may exceed `rejected.length`, which is capped). */
  rejectedCount: number;
  rejected: Rejection[];
  /** Unknown field names and how often each was seen (and ignored). */
  ignoredFields: Record<string, number>;
}

export { DEFAULT_MAX_REJECTIONS } from './tally.js';
export { CELL_NUMBERS, LINK_NUMBERS, MAX_ID_LENGTH, SAMPLE_SOURCES, type NumberSpec } from './fields.js';

export {
  CATEGORIES,
  CHANNELS,
  SYMPTOMS,
  decodeComplaint,
  decodeComplaintCsv,
  decodeComplaints,
  type ComplaintBatch,
  type ComplaintField,
  type ComplaintOptions,
  type DecodedComplaint,
} from './complaints.js';
export {
  SampleRangeReader,
  joinSampleRanges,
  jsonlRanges,
  readComplaintFile,
  readRawComplaints,
  readSampleFile,
  sampleFileFormat,
  sampleRangesResult,
  sniffFormat,
  type ComplaintFileOptions,
  type ComplaintFileResult,
  type ComplaintFormat,
  type ComplaintSink,
  type FileProgress,
  type FileRange,
  type RawComplaintFile,
  type RawComplaintRecord,
  type SampleFileOptions,
  type SampleFileResult,
  type SampleFormat,
  type SampleRangeResult,
} from './files.js';
export {
  LineScanner,
  parseLine,
  parseLines,
  parsePrecision,
  type FieldValue,
  type LineOptions,
  type LinePoint,
  type LineVerdict,
  type ParsedLines,
  type Precision,
} from './lineprotocol.js';
export {
  CELLWATCH_MAPPING,
  LineProtocolDecoder,
  cellwatchMappings,
  compileMappings,
  decodeLineProtocol,
  mapPoint,
  type CompileResult,
  type CompiledMappings,
  type Condition,
  type FieldMapping,
  type IdSource,
  type LineProtocolOptions,
  type MeasurementMapping,
} from './mapping.js';
export {
  SampleCsvDecoder,
  decodeSample,
  decodeSamples,
  type CsvOptions,
  type DecodedSample,
  type SampleOptions,
} from './samples.js';
export { parseTime, parseTimeString, type TimeOptions, type TimeVerdict } from './time.js';
