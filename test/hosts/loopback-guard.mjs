// Preloaded into gt by the gcp tests (NODE_OPTIONS=--import …): every TCP connection that is not
// to a loopback address is refused before it is made and written to GT_TEST_EGRESS_LOG, so a test
// can prove that nothing left the machine (no Google address, no metadata server).
import { appendFileSync } from 'node:fs';
import net from 'node:net';

const log = process.env.GT_TEST_EGRESS_LOG;
const loopback = (host) =>
  host === undefined ||
  host === 'localhost' ||
  /^127\./.test(host) ||
  host === '::1' ||
  host === '[::1]';
const original = net.Socket.prototype.connect;
net.Socket.prototype.connect = function connect(...args) {
  const first = args[0];
  const options = Array.isArray(first) ? first[0] : first;
  const host =
    typeof options === 'object' && options !== null
      ? options.path === undefined
        ? (options.host ?? 'localhost')
        : undefined
      : typeof options === 'number'
        ? typeof args[1] === 'string'
          ? args[1]
          : 'localhost'
        : undefined;
  if (!loopback(host)) {
    if (log !== undefined) appendFileSync(log, `${process.pid} ${String(host)}\n`);
    const err = Object.assign(new Error(`loopback guard: refused a connection to ${host}`), {
      code: 'ECONNREFUSED',
    });
    process.nextTick(() => this.destroy(err));
    return this;
  }
  return original.apply(this, args);
};
