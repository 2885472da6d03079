import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from '../config/index.js';

/**
 * JSON lines for machines (journald, Loki), readable lines for a person at a terminal. Pretty-printing
 * runs in-process (a stream, not a worker transport) so a crash never loses the last lines.
 */
export function createLogger(cfg: Config['log'], stream: NodeJS.WritableStream = process.stdout): Logger {
  const isTty = 'isTTY' in stream && Boolean((stream as NodeJS.WriteStream).isTTY);
  const usePretty = cfg.format === 'pretty' || (cfg.format === 'auto' && isTty);
  const options = {
    level: cfg.level,
    base: { service: 'cellwatch' },
    // "level":"warn" rather than 40: readable in a terminal and in any log search.
    formatters: { level: (label: string) => ({ level: label }) },
    // Belt and braces: secrets are Secret objects that print "[redacted]" anyway.
    redact: {
      paths: ['*.token', '*.password', '*.community', '*.authKey', '*.privKey', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  };
  if (!usePretty) return pino(options, stream);
  return pino(
    options,
    pretty({
      destination: stream,
      colorize: isTty,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,service',
      sync: true,
    }),
  );
}
