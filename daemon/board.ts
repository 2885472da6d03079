import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { RouteDoc } from './api/openapi.js';
import { packageRoot } from './paths.js';

/**
 * The web board's files, served by the daemon itself so that it works with no internet: the page and
 * its stylesheet from `board/`, the compiled modules from `dist/board/` (board/tsconfig.json), and
 * uPlot from its npm package. Only the files found at start are served, by exact name (no path from
 * the request ever reaches the file system). The page's Content-Security-Policy allows nothing but
 * the daemon's own origin: no CDN, no inline script, no tiles.
 */
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export const BOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

interface Asset {
  body: Buffer;
  type: string;
  /** A strong validator: a reloaded board revalidates every file and is answered 304 when unchanged. */
  etag: string;
}

/** Every file the board needs, by the URL path it is served at. */
export function boardAssets(root = packageRoot): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const add = (url: string, file: string) => {
    const type = TYPES[extname(file)];
    if (!type) return;
    const body = readFileSync(file);
    assets.set(url, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  };
  const source = join(root, 'board');
  for (const name of readdirSync(source)) if (/\.(html|css|svg)$/.test(name)) add(`/board/${name}`, join(source, name));
  const compiled = join(root, 'dist/board');
  if (existsSync(compiled)) for (const name of readdirSync(compiled)) add(`/board/${name}`, join(compiled, name));
  const uplot = dirname(createRequire(join(root, 'package.json')).resolve('uplot/package.json'));
  add('/board/vendor/uplot.js', join(uplot, 'dist/uPlot.esm.js'));
  add('/board/vendor/uplot.css', join(uplot, 'dist/uPlot.min.css'));
  return assets;
}

/** `doc` describes the page in the OpenAPI document; the assets under /board/ are hidden from it. */
export function registerBoard(app: FastifyInstance, log: Logger, doc: RouteDoc): void {
  const assets = boardAssets();
  if (!assets.has('/board/main.js'))
    log.warn('the board is not built (dist/board/main.js missing): run `npm run build`; / serves its page only');
  const page = assets.get('/board/index.html')!;
  const send = (req: FastifyRequest, reply: FastifyReply, asset: Asset) => {
    void reply
      .type(asset.type)
      .header('cache-control', 'no-cache')
      .header('etag', asset.etag)
      .header('x-content-type-options', 'nosniff');
    if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    return reply.send(asset.body);
  };
  app.get('/', { config: { doc } }, async (req, reply) =>
    send(req, reply.header('content-security-policy', BOARD_CSP), page),
  );
  app.get('/board/*', { schema: { hide: true } }, async (req, reply) => {
    const asset = assets.get(req.url.split('?')[0]!);
    if (!asset) return reply.code(404).send({ error: `no board file ${req.url.split('?')[0]}` });
    return send(req, reply, asset);
  });
}
