"""1:1 NAT ([media] public_ipv4, public_ipv6, advertise_private; DESIGN.md 3,
operations.md "Behind a 1:1 NAT") and the direct send path (performance.md).

With a public address configured, the gateway's SDP (the publish answer and
the subscribe offer) carries, for every host candidate of that family, a
server-reflexive candidate with the public address and the same port, raddr
and rport naming the host candidate; the port is one the daemon really has
bound. Media still connects on loopback through the private candidate, and
is sent on the selected pair's socket, not through libnice
(vej_media_sent_via_libnice_total stays near zero).

The public addresses are documentation addresses (RFC 5737, RFC 3849) that
route nowhere from here: the test peers are handed the gateway's SDP with
those candidates and default addresses taken out, so no packet is ever sent
to them.
"""

import asyncio
import ipaddress
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'interop'))

import media_harness  # noqa: E402  (loads webrtc_peer first: it takes G_DEBUG out)
import webrtc_peer  # noqa: E402
import harness  # noqa: E402
import test_webrtc  # noqa: E402  (publish_offer, answer_for; its test class stays there)
from media_harness import MediaTestCase, metrics  # noqa: E402

PUBLIC4 = '203.0.113.7'
PUBLIC6 = '2001:db8::7'
PUBLICS = (PUBLIC4, PUBLIC6)

CAND = re.compile(r'(?m)^a=candidate:(\S+) 1 (?i:udp) (\d+) (\S+) (\d+) typ (\w+)'
                  r'(?: raddr (\S+) rport (\d+))?')


def candidates(sdp):
    """[(foundation, priority, address, port, type, raddr, rport)] of the
    first m-line that carries candidates (BUNDLE: they are all there)."""
    return [(m[0], int(m[1]), m[2], int(m[3]), m[4], m[5], int(m[6]) if m[6] else None)
            for m in CAND.findall(sdp)]


def without_public(sdp):
    """The SDP a test peer may act on: no candidate and no default address
    with a public (unreachable, documentation) address."""
    out = []
    for line in sdp.split('\r\n'):
        if line.startswith('a=candidate:') and any(' %s ' % a in line for a in PUBLICS):
            continue
        if line.startswith('c=IN ') and line.split()[-1] in PUBLICS:
            line = 'c=IN IP4 0.0.0.0'
        out.append(line)
    return '\r\n'.join(out)


_set_remote = webrtc_peer._Pc.set_remote


async def _set_remote_reachable(self, kind, text):
    await _set_remote(self, kind, without_public(text))


# Every webrtcbin peer in this process gets only reachable candidates.
webrtc_peer._Pc.set_remote = _set_remote_reachable


def daemon_udp_ports(pid):
    """{(address, port)} of the UDP sockets the process has bound, from
    /proc/net/udp{,6} and the process's fd table."""
    inodes = set()
    fd_dir = '/proc/%d/fd' % pid
    for fd in os.listdir(fd_dir):
        try:
            link = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if link.startswith('socket:['):
            inodes.add(link[8:-1])
    out = set()
    for name, v6 in (('udp', False), ('udp6', True)):
        try:
            with open('/proc/%d/net/%s' % (pid, name)) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) < 10 or f[9] not in inodes:
                continue
            hexaddr, hexport = f[1].split(':')
            raw = bytes.fromhex(hexaddr)
            if v6:
                # four little-endian 32-bit words
                raw = b''.join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
                addr = str(ipaddress.IPv6Address(raw))
            else:
                addr = '.'.join(str(b) for b in raw[::-1])
            out.add((addr, int(hexport, 16)))
    return out


class NatMixin:
    """Checks shared by the test classes."""

    def check_nat_candidates(self, sdp, hide_private=False):
        """Each public candidate is srflx with the port of a host candidate
        the daemon has bound; raddr/rport name that host candidate (or
        0.0.0.0/:: 0 when hidden). Returns the candidates."""
        cands = candidates(sdp)
        self.assertTrue(cands, sdp)
        bound = daemon_udp_ports(self.daemon.proc.pid)
        hosts = [c for c in cands if c[4] == 'host']
        public = [c for c in cands if c[2] in PUBLICS]
        families = {PUBLIC4: '127.0.0.1', PUBLIC6: '::1'}
        self.assertEqual(sorted({c[2] for c in public}), sorted(PUBLICS), sdp)
        self.assertEqual(cands[0][2], PUBLIC4, 'the public candidates come first')
        for f, prio, addr, port, typ, raddr, rport in public:
            self.assertEqual(typ, 'srflx', sdp)
            private = families[addr]
            self.assertIn((private, port), bound,
                          '%s %d: the daemon has no UDP socket on %s %d (bound: %r)'
                          % (addr, port, private, port, sorted(bound)))
            if hide_private:
                self.assertEqual((raddr, rport), ('0.0.0.0' if ':' not in addr else '::', 0))
            else:
                self.assertEqual((raddr, rport), (private, port), sdp)
                twin = [h for h in hosts if h[2] == private and h[3] == port]
                self.assertEqual(len(twin), 1, 'no host twin for %s %d:\n%s' % (addr, port, sdp))
                self.assertLess(prio, twin[0][1], 'srflx ranks below its host candidate')
                self.assertNotEqual(f, twin[0][0], 'the srflx has its own foundation')
        if hide_private:
            self.assertEqual(hosts, [], 'advertise_private = false: no private candidate')
        default = re.search(r'(?m)^c=IN IP4 (\S+)\r?$', sdp)
        self.assertIsNotNone(default, sdp)
        self.assertEqual(default.group(1), PUBLIC4, 'the default address is the public one')
        return cands


class NatMediaTest(NatMixin, MediaTestCase):
    """Public IPv4 and IPv6 beside the private loopback candidates; media
    flows on loopback."""

    overrides = {'media': {'addresses': '127.0.0.1,::1', 'ipv6': 'true',
                           'public_ipv4': PUBLIC4, 'public_ipv6': PUBLIC6}}

    async def test_media_connects_and_sends_directly(self):
        h = await self.hearing([('Dan Defendant', 'defendant')])
        clerk, dfd = h['clerk'], h['Dan Defendant']
        await dfd.peer.publish()
        self.check_nat_candidates(dfd.peer.publish_answer)
        await clerk.peer.subscribe()
        await self.wait_flowing([(clerk, dfd)])
        self.assertTrue(clerk.peer.offers, 'no subscribe offer')
        self.check_nat_candidates(clerk.peer.offers[-1][1]['sdp'])
        # both PeerConnections settled on the private loopback pair
        for p, pc in ((dfd, 'publish'), (clerk, 'subscribe')):
            await p.peer.wait_state(pc, 'connected', timeout=5)
        before = metrics(self.daemon)
        await asyncio.sleep(2.0)
        after = metrics(self.daemon)

        def grew(name):
            return after.get(name, 0) - before.get(name, 0)
        forwarded = grew('vej_media_rtp_forwarded_total')
        sent = forwarded + grew('vej_media_rtcp_sent_total')
        via_libnice = after.get('vej_media_sent_via_libnice_total', 0)
        self.assertGreater(forwarded, 50, 'media forwarded in 2 s: %r' % after)
        # everything in the window went out on the cached path
        self.assertEqual(grew('vej_media_sent_via_libnice_total'), 0,
                         'sent through libnice in the window (of %d): %r' % (sent, after))
        # and, since the start, at most a handful (before ICE settled)
        total = (after.get('vej_media_rtp_forwarded_total', 0) +
                 after.get('vej_media_rtcp_sent_total', 0))
        print('RTP forwarded in 2 s: %d; RTP+RTCP sent through libnice: %d of %d since the start'
              % (forwarded, via_libnice, total))
        self.assertLessEqual(via_libnice, max(5, total * 0.02), after)
        for reason in ('send_eagain', 'send_enobufs', 'send_error'):
            self.assertEqual(after.get('vej_media_dropped_total{reason="%s"}' % reason, 0), 0,
                             reason)


    async def test_ice_restart_keeps_the_direct_path(self):
        """webrtc.restart_ice on the subscribe PC: media keeps flowing and
        keeps leaving on the direct path. webrtcbin 1.22 answers the restart
        offer with its old ICE credentials, so only the gateway's agent
        restarts: libnice goes back to 'gathering' and, as RFC 8445 9 asks,
        keeps sending on the previous pair, and so must the cached path (an
        earlier version used it only in CONNECTED/READY and fell back to
        libnice for good)."""
        h = await self.hearing([('Rita Restart', 'defendant')])
        clerk, dfd = h['clerk'], h['Rita Restart']
        await dfd.peer.publish()
        await clerk.peer.subscribe()
        await self.wait_flowing([(clerk, dfd)])
        n_offers = len(clerk.peer.offers)
        ufrag = re.search(r'a=ice-ufrag:(\S+)', clerk.peer.offers[-1][1]['sdp']).group(1)
        await clerk.rpc.call('webrtc.restart_ice', {'pc': 'subscribe'})
        deadline = asyncio.get_running_loop().time() + media_harness.CONNECT_TIMEOUT
        while len(clerk.peer.answers) < n_offers + 1 or len(clerk.peer.offers) <= n_offers:
            self.assertLess(asyncio.get_running_loop().time(), deadline, 'no re-offer answered')
            await asyncio.sleep(0.1)
        self.assertNotIn('a=ice-ufrag:%s\r' % ufrag, clerk.peer.offers[-1][1]['sdp'])
        await asyncio.sleep(1.0)
        before = metrics(self.daemon)
        t0 = media_harness.now()
        await asyncio.sleep(2.0)
        after = metrics(self.daemon)
        decoded = clerk.peer.decoded_from(dfd.pid, 'video').count_since(t0)
        self.assertGreater(decoded, 20, 'video after the ICE restart')
        via = (after.get('vej_media_sent_via_libnice_total', 0) -
               before.get('vej_media_sent_via_libnice_total', 0))
        self.assertEqual(via, 0, 'sent through libnice after the restart: %r' % after)


class NatPublicOnlyTest(NatMixin, harness.DaemonTestCase):
    """advertise_private = false: only the public candidates, raddr hidden."""

    overrides = {'media': {'addresses': '127.0.0.1,::1', 'ipv6': 'true',
                           'public_ipv4': PUBLIC4, 'public_ipv6': PUBLIC6,
                           'advertise_private': 'false'}}

    async def test_only_public_candidates(self):
        w = self.world
        hid = w.new_hearing()
        for s in ('open', 'in_session'):
            self.assertEqual(w.set_state(hid, s).status, 200)
        clerk = await self.staff_ws('clerk', hid)
        p = w.add_participant(hid, 'Nat Pub', 'defendant', None)
        rpc = await self.join_ws(p, name='defendant')
        await clerk.call('hearing.admit', {'participant_id': p['participant_id']})
        await rpc.wait_for('participant.admitted',
                           lambda q: harness.pid_of(q) == p['participant_id'])
        res = await rpc.call('webrtc.publish', {'sdp': test_webrtc.publish_offer()})
        cands = self.check_nat_candidates(res['sdp'], hide_private=True)
        self.assertEqual(len(cands), 2, res['sdp'])


if __name__ == '__main__':
    media_harness.main()
