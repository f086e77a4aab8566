// The static-key tunnel survives a NAT rebinding: the NAT in front of gwA
// moves it to a new public port and drops the old mapping. gwB must follow
// the source of authenticated ESP-in-UDP packets (RFC 3948 section 3; the
// same rule as RFC 7296 section 2.23), else lanB's replies never arrive.
import t from 'tap';
import { existsSync } from 'node:fs';
import { Lab, LAB, uniquePrefix } from '../lib/lab.ts';
import { staticTool } from '../lib/paths.ts';
import { labSkipReason } from '../lib/root.ts';
import { startStaticPair } from '../lib/static-tunnel.ts';
import { waitUntil } from '../lib/wait.ts';

const skip = labSkipReason();

t.test('static tunnel follows a NAT rebinding', { skip: skip ?? false }, async (t) => {
  if (!existsSync(staticTool)) {
    t.fail(`cannot run: ${staticTool} is not built (npm run build)`);
    return;
  }
  const lab = new Lab(uniquePrefix('nr'));
  t.teardown(() => lab.down());
  await lab.up();
  const pair = await startStaticPair(lab, 'aes128gcm16');
  t.teardown(() => pair.stop());

  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'tunnel works before the rebinding');
  await lab.rebind();
  // The first packets after the change may be lost while gwB learns the new port.
  const recovered = await waitUntil(() => lab.ping('lanA', LAB.lanB, 1), 10_000, 200);
  t.ok(recovered, 'lanA reaches lanB again after the NAT moved gwA to a new port');
  t.ok(await lab.ping('lanB', LAB.lanA, 3), 'lanB reaches lanA (gwB sends to the new port)');
  t.equal((await lab.counters()).leak?.packets, 0, 'no cleartext LAN packet reached the NAT');
});
