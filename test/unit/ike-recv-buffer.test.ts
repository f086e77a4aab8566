// UDP 500's receive buffer (issue 10): Node asks with plain SO_RCVBUF, which the kernel
// caps at net.core.rmem_max; sitelinkd logs what the socket really got and warns, with
// the sysctl to raise, when that is less than it asked for.
import t from 'tap';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { IKE_RECV_BUFFER, receiveBufferReport } from '../../firmware/src/daemon/ike-transport.ts';

t.test('the report: info when the kernel gave it all, a warning naming the sysctl when capped', async (t) => {
  const full = receiveBufferReport('IPv4', 500, 2 * IKE_RECV_BUFFER);
  t.equal(full.level, 'info');
  t.equal(full.message, 'UDP 500 (IPv4) receive buffer: 2048 KiB as the kernel reports it (doubled)');
  const capped = receiveBufferReport('IPv6', 500, 425984);
  t.equal(capped.level, 'warning');
  t.match(capped.message, /^UDP 500 \(IPv6\) receive buffer: 416 KiB .*not the 2048 KiB of the 1024 KiB asked for/);
  t.match(capped.message, /sysctl -w net\.core\.rmem_max=1048576/);
});

t.test("a real socket asked for IKE_RECV_BUFFER: the report carries the kernel's own figure", async (t) => {
  const sock = createSocket({ type: 'udp4', recvBufferSize: IKE_RECV_BUFFER });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  t.teardown(() => sock.close());
  const got = sock.getRecvBufferSize();
  const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
  // socket(7): the kernel doubles the value it was given, capped at rmem_max.
  t.equal(got, 2 * Math.min(IKE_RECV_BUFFER, rmemMax), `kernel: ${got} (rmem_max ${rmemMax})`);
  const r = receiveBufferReport('IPv4', 500, got);
  t.match(r.message, `${Math.round(got / 1024)} KiB`);
  t.equal(r.level, rmemMax >= IKE_RECV_BUFFER ? 'info' : 'warning');
});
