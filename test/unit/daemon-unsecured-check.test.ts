// accept-unsecured on an Internet-facing interface (issue 17): the daemon warns when an
// interface the action is limited to carries a default route.
import t from 'tap';
import { loadConfigText } from '../../firmware/src/config/load.ts';
import { defaultRouteInterfaces, unsecuredWarnings } from '../../firmware/src/daemon/unsecured-check.ts';

const conf = (ifs: string) => `
gateway { id = gwA.lab }
peers { hq { remote = 198.51.100.2
             remote-id = gwB.lab } }
filter-lists { l { f { source = 10.1.0.0/24
                       destination = 10.2.0.0/24 } } }
filter-actions { s { action = negotiate
                     accept-unsecured = yes
                     accept-unsecured-interfaces = ${ifs} } }
rules { r { filters = l
            action = s
            peer = hq } }
`;

t.test('default route interfaces from ip -j route', async (t) => {
  t.same(defaultRouteInterfaces('[{"dst":"default","gateway":"192.0.2.1","dev":"wan0","flags":[]}]'), ['wan0']);
  t.same(defaultRouteInterfaces('[]'), []);
  t.same(defaultRouteInterfaces('not json'), [], 'garbage gives none, no throw');
});

t.test('a limited action warns only when a listed interface faces the Internet', async (t) => {
  const lan = loadConfigText('s.conf', conf('lan0'), { secrets: false });
  const wan = loadConfigText('s.conf', conf('lan0, wan0'), { secrets: false });
  if (!lan.ok || !wan.ok) throw new Error('config');
  t.same(unsecuredWarnings(lan.config, ['wan0']), [], 'LAN only: no warning');
  const w = unsecuredWarnings(wan.config, ['wan0']);
  t.equal(w.length, 1);
  t.match(w[0]?.message, /filter-actions\.s\.accept-unsecured-interfaces: wan0 carries a default route \(Internet-facing\)/);
});
