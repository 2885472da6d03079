/**
 * Server → client WebSocket text frames (RFC 6455 §5.2), built once per event and written as they are
 * to every subscriber's socket. `ws` would frame the same payload again for each of 100 clients and
 * make one `socket.write` per event per client; a prebuilt frame lets the hub hand one concatenated
 * buffer per client per event-loop turn to the kernel instead. Server frames are never masked and we
 * negotiate no extensions (permessage-deflate is off), so a frame is a 2-, 4- or 10-byte header and the
 * payload.
 */

const FIN_TEXT = 0x81;

/** One complete, unfragmented text frame carrying `payload` (UTF-8). */
export function textFrame(payload: string): Buffer {
  const bytes = Buffer.byteLength(payload);
  const header = bytes < 126 ? 2 : bytes < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + bytes);
  frame[0] = FIN_TEXT;
  if (header === 2) frame[1] = bytes;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(bytes, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(bytes), 2);
  }
  frame.write(payload, header, 'utf8');
  return frame;
}
