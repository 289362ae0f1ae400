"""A real 1:1 NAT between the gateway and a client, made of network
namespaces (needs root: CAP_NET_ADMIN, iproute2 and nftables; skipped with
the reason otherwise).

    root namespace              namespace NAT                    namespace CL
    vej-gateway                 10.251.77.1  (VR)                198.51.100.50 (VC)
    media on 10.251.77.2 (VG) --- 198.51.100.1, .7 (VO) ------- no route to 10.251.77.0/24;
    signalling on 127.0.0.1     DNAT 198.51.100.7 -> 10.251.77.2  inbound only as replies
                                SNAT 10.251.77.2 -> 198.51.100.7  (stateful firewall)

The gateway runs with `[media] addresses = 10.251.77.2`, `public_ipv4 =
198.51.100.7`. A webrtcbin publisher (nat_peer.py) runs inside CL and can
reach the gateway's media only through the public address: its ICE checks
go to the srflx candidate, the NAT hands them to the private socket, and
the gateway's answers leave with the public source address. The test
drives the signalling itself (127.0.0.1 in the root namespace) and relays
the SDP and candidates. The client's firewall admits only replies, as most
do: the gateway's own checks reach it only once the client has sent to the
public address, so without the public candidate the same publisher cannot
connect (the control case; with an open client, the gateway's checks would
have found it through a peer-reflexive candidate anyway).

The root namespace gets one veth (VG) and a route for 198.51.100.0/24 (a
documentation range) through it, both removed at the end; every other
address lives in the namespaces this test makes, so no packet leaves the
machine.
"""

import asyncio
import atexit
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'interop'))

import media_harness  # noqa: E402
import harness  # noqa: E402
from harness import pid_of  # noqa: E402
from media_harness import metrics  # noqa: E402

PRIVATE = '10.251.77.2'
ROUTER_IN = '10.251.77.1'
PUBLIC = '198.51.100.7'
ROUTER_OUT = '198.51.100.1'
CLIENT = '198.51.100.50'
PUBLIC_NET = '198.51.100.0/24'
PRIVATE_NET = '10.251.77.0/24'

TAG = '%04x' % (os.getpid() & 0xffff)
NS_NAT = 'vejnat-r-' + TAG
NS_CL = 'vejnat-c-' + TAG
VG, VR, VO, VC = 'vng' + TAG, 'vnr' + TAG, 'vno' + TAG, 'vnc' + TAG

NFT_RULES = '''
table ip vejnat {
    chain pre {
        type nat hook prerouting priority dstnat; policy accept;
        ip daddr %(public)s dnat to %(private)s
    }
    chain post {
        type nat hook postrouting priority srcnat; policy accept;
        ip saddr %(private)s snat to %(public)s
    }
    chain forward_guard {
        type filter hook forward priority filter; policy accept;
        iifname "%(vo)s" ct status dnat accept
        iifname "%(vo)s" ct status snat accept
        iifname "%(vo)s" ip daddr %(private_net)s drop
    }
}
''' % {'public': PUBLIC, 'private': PRIVATE, 'vo': VO, 'private_net': PRIVATE_NET}

NFT_CLIENT_FIREWALL = '''
table inet vejclient {
    chain input_guard {
        type filter hook input priority filter; policy drop;
        iifname "lo" accept
        ct state established,related accept
    }
}
'''

CONNECT_TIMEOUT = 20.0
CONTROL_WAIT = 8.0


def run(*cmd, stdin=None):
    p = subprocess.run(list(cmd), input=stdin, capture_output=True, text=True, timeout=20)
    if p.returncode != 0:
        raise RuntimeError('%s: exit %d: %s' % (' '.join(cmd), p.returncode,
                                                (p.stderr or p.stdout).strip()))
    return p.stdout


def teardown_network():
    for cmd in (['ip', 'link', 'del', VG], ['ip', 'netns', 'del', NS_NAT],
                ['ip', 'netns', 'del', NS_CL]):
        subprocess.run(cmd, capture_output=True, timeout=20)


def remove_stale():
    """Namespaces and links of earlier runs whose process is gone (a run
    killed by a timeout cannot clean up)."""
    def gone(tag):
        return not any(os.path.exists('/proc/%d' % pid) and ('%04x' % (pid & 0xffff)) == tag
                       for pid in [int(p) for p in os.listdir('/proc') if p.isdigit()])
    names = subprocess.run(['ip', 'netns', 'list'], capture_output=True, text=True,
                           timeout=20).stdout.split()
    for name in names:
        m = re.match(r'^vejnat-[rc]-([0-9a-f]{4})$', name)
        if m and gone(m.group(1)):
            subprocess.run(['ip', 'netns', 'del', name], capture_output=True, timeout=20)
    links = subprocess.run(['ip', '-o', 'link', 'show'], capture_output=True, text=True,
                           timeout=20).stdout
    for m in re.finditer(r'^\d+: (vng([0-9a-f]{4}))[@:]', links, re.M):
        if gone(m.group(2)):
            subprocess.run(['ip', 'link', 'del', m.group(1)], capture_output=True, timeout=20)


def setup_network():
    """Builds the topology; raises RuntimeError with the failing command."""
    if os.geteuid() != 0:
        raise RuntimeError('not root (network namespaces, veth and nftables need CAP_NET_ADMIN)')
    for tool in ('ip', 'nft'):
        if shutil.which(tool) is None:
            raise RuntimeError('%s is not installed (iproute2, nftables)' % tool)
    remove_stale()
    routes = run('ip', '-4', 'route', 'show')
    for net in (PUBLIC_NET, PRIVATE_NET):
        if net.split('/')[0] in routes:
            raise RuntimeError('the root namespace already routes %s' % net)
    try:
        run('ip', 'netns', 'add', NS_NAT)
        run('ip', 'netns', 'add', NS_CL)
        run('ip', 'link', 'add', VG, 'type', 'veth', 'peer', 'name', VR, 'netns', NS_NAT)
        run('ip', '-n', NS_NAT, 'link', 'add', VO, 'type', 'veth', 'peer', 'name', VC,
            'netns', NS_CL)
        # IPv4 only: no link-local IPv6 candidates on the test links
        for ns, dev in ((None, VG), (NS_NAT, VR), (NS_NAT, VO), (NS_CL, VC)):
            pre = ['ip', 'netns', 'exec', ns] if ns else []
            run(*pre, 'sysctl', '-qw', 'net.ipv6.conf.%s.disable_ipv6=1' % dev)
        run('ip', 'addr', 'add', PRIVATE + '/24', 'dev', VG)
        run('ip', 'link', 'set', VG, 'up')
        run('ip', '-n', NS_NAT, 'addr', 'add', ROUTER_IN + '/24', 'dev', VR)
        run('ip', '-n', NS_NAT, 'addr', 'add', ROUTER_OUT + '/24', 'dev', VO)
        run('ip', '-n', NS_NAT, 'addr', 'add', PUBLIC + '/32', 'dev', VO)
        for dev in ('lo', VR, VO):
            run('ip', '-n', NS_NAT, 'link', 'set', dev, 'up')
        run('ip', '-n', NS_CL, 'addr', 'add', CLIENT + '/24', 'dev', VC)
        for dev in ('lo', VC):
            run('ip', '-n', NS_CL, 'link', 'set', dev, 'up')
        run('ip', 'netns', 'exec', NS_NAT, 'sysctl', '-qw', 'net.ipv4.ip_forward=1')
        run('ip', 'netns', 'exec', NS_NAT, 'nft', '-f', '-', stdin=NFT_RULES)
        run('ip', 'netns', 'exec', NS_CL, 'nft', '-f', '-', stdin=NFT_CLIENT_FIREWALL)
        # the gateway's answers to the client go through the NAT, never
        # out of the machine
        run('ip', 'route', 'add', PUBLIC_NET, 'via', ROUTER_IN, 'dev', VG)
    except Exception:
        teardown_network()
        raise
    atexit.register(teardown_network)


class NatPeer:
    """nat_peer.py in the client namespace, as a line-JSON subprocess."""

    def __init__(self):
        self.proc = None
        self.lines = asyncio.Queue()
        self.states = []
        self.candidates = []
        self.final = None

    async def start(self):
        env = dict(os.environ)
        self.proc = await asyncio.create_subprocess_exec(
            'ip', 'netns', 'exec', NS_CL, sys.executable, os.path.join(HERE, 'nat_peer.py'),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
            preexec_fn=harness._die_with_parent)
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self):
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                break
            try:
                msg = json.loads(line)
            except ValueError:
                continue  # not ours
            if not isinstance(msg, dict):
                continue
            if 'state' in msg:
                self.states.append(msg['state'])
            if 'errors' in msg:
                self.final = msg
            await self.lines.put(msg)
        await self.lines.put(None)

    async def next(self, key, timeout=CONNECT_TIMEOUT):
        """The next line that has `key` (others are kept in their lists)."""
        while True:
            msg = await asyncio.wait_for(self.lines.get(), timeout)
            if msg is None:
                raise AssertionError('the NAT peer exited (states %r)' % self.states)
            if key in msg:
                return msg

    def send(self, obj):
        self.proc.stdin.write((json.dumps(obj) + '\n').encode())

    async def close(self):
        if self.proc is None or self.proc.returncode is not None:
            return
        try:
            self.send({'quit': True})
            await asyncio.wait_for(self.proc.wait(), 10)
        except (asyncio.TimeoutError, ConnectionError):
            self.proc.kill()
            await self.proc.wait()
        self._reader.cancel()


def public_only_removed(sdp):
    """The answer without the public candidate (the control case)."""
    return '\r\n'.join(ln for ln in sdp.split('\r\n')
                       if not (ln.startswith('a=candidate:') and (' %s ' % PUBLIC) in ln))


class RealNatTest(harness.DaemonTestCase):
    """A publisher reaching the gateway through a real 1:1 NAT."""

    overrides = {'media': {'addresses': PRIVATE, 'public_ipv4': PUBLIC}}
    network_error = None

    @classmethod
    def setUpClass(cls):
        try:
            setup_network()
        except Exception as e:  # noqa: BLE001 - any failure is a reason to skip
            cls.network_error = str(e)
            cls.daemon = None
            return
        try:
            harness.DaemonTestCase.setUpClass.__func__(cls)
        except BaseException:
            teardown_network()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.daemon is not None:
                harness.DaemonTestCase.tearDownClass.__func__(cls)
        finally:
            teardown_network()

    def setUp(self):
        if self.network_error:
            self.skipTest('no 1:1 NAT topology here: %s' % self.network_error)
        harness.DaemonTestCase.setUp(self)

    async def publisher(self):
        w = self.world
        hid = w.new_hearing()
        for s in ('open', 'in_session'):
            self.assertEqual(w.set_state(hid, s).status, 200)
        clerk = await self.staff_ws('clerk', hid)
        p = w.add_participant(hid, 'Nat Defendant', 'defendant', None)
        rpc = await self.join_ws(p, name='defendant')
        await clerk.call('hearing.admit', {'participant_id': p['participant_id']})
        await rpc.wait_for('participant.admitted', lambda q: pid_of(q) == p['participant_id'])
        return rpc

    async def publish_through_nat(self, rpc, munge=None):
        """Starts the peer, relays offer, answer and candidates; returns
        (peer, answer as sent by the gateway)."""
        peer = NatPeer()
        self.addAsyncCleanup(peer.close)
        await peer.start()
        offer = (await peer.next('offer'))['offer']
        res = await rpc.call('webrtc.publish', {'sdp': offer})
        answer = res['sdp']
        peer.send({'answer': munge(answer) if munge else answer})

        async def relay_candidates():
            while True:
                msg = await peer.next('candidate', timeout=60)
                await rpc.call('webrtc.candidate', {'pc': 'publish', 'candidate': msg['candidate'],
                                                    'sdpMLineIndex': msg['mline']})
        task = asyncio.ensure_future(relay_candidates())
        self.addCleanup(task.cancel)
        return peer, answer

    async def test_media_through_the_nat(self):
        rpc = await self.publisher()
        peer, answer = await self.publish_through_nat(rpc)
        # the public candidate: srflx, the private socket's port
        srflx = [ln for ln in answer.split('\r\n') if ln.startswith('a=candidate:') and
                 (' %s ' % PUBLIC) in ln]
        self.assertEqual(len(srflx), 1, answer)
        f = srflx[0].split()
        self.assertEqual(f[7], 'srflx', srflx[0])
        self.assertEqual(f[8:12], ['raddr', PRIVATE, 'rport', f[5]], srflx[0])
        self.assertIn('a=candidate:', answer.replace(srflx[0], ''))
        before = metrics(self.daemon)
        st = await rpc.wait_for('webrtc.state', lambda q: q.get('pc') == 'publish' and
                                q.get('state') == 'connected', timeout=CONNECT_TIMEOUT)
        self.assertTrue(st.get('reason'), st)
        # media arrives through the NAT, and the gateway's RTCP (RR/REMB)
        # goes back on the direct send path through it
        deadline = asyncio.get_running_loop().time() + CONNECT_TIMEOUT
        while True:
            m = metrics(self.daemon)
            if m.get('vej_media_rtp_received_total', 0) >= 100 and \
                    m.get('vej_media_rtcp_sent_total', 0) >= 2:
                break
            if asyncio.get_running_loop().time() > deadline:
                self.fail('media through the NAT: %r (peer states %r)' % (m, peer.states))
            await asyncio.sleep(0.2)
        self.assertEqual(m.get('vej_media_sent_via_libnice_total', 0),
                         before.get('vej_media_sent_via_libnice_total', 0), m)
        self.assertEqual(m.get('vej_media_dropped_total{reason="send_error"}', 0), 0, m)
        self.assertIn('connected', peer.states)

    async def test_control_without_public_candidate(self):
        """The same publisher given only the private candidate never
        connects: the test above did rely on the public address."""
        rpc = await self.publisher()
        peer, answer = await self.publish_through_nat(rpc, munge=public_only_removed)
        await rpc.assert_no('webrtc.state', CONTROL_WAIT, lambda q: q.get('pc') == 'publish' and
                            q.get('state') == 'connected')
        self.assertNotIn('connected', peer.states)


if __name__ == '__main__':
    # meson reports SKIP (77), with the reason, where the topology cannot be
    # built (not root, no nftables, a sandbox without network namespaces)
    try:
        setup_network()
        teardown_network()
    except Exception as e:  # noqa: BLE001
        print('SKIP: no 1:1 NAT topology here: %s' % e)
        sys.exit(77)
    media_harness.main()
