"""A bare publish PeerConnection whose DTLS client is OpenSSL (pyOpenSSL,
Debian's python3-openssl), for what WebRTC stacks never do: present no
certificate. ICE is the minimum the gateway needs (RFC 8445 as the
controlling agent: binding requests with USE-CANDIDATE, answers to the
gateway's checks, MESSAGE-INTEGRITY and FINGERPRINT, one loopback host
candidate); no media is ever sent.

    peer = BarePublisher(certificate=False)   # or True: a self-signed one
    await peer.start()
    offer = peer.offer(template_sdp)          # a real offer, our ICE and DTLS
    answer = (await rpc.call('webrtc.publish', {'sdp': offer}))['sdp']
    await peer.connect(answer)                # ICE, then the DTLS handshake
    peer.dtls_result                          # 'connected' or the OpenSSL error
"""

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
import re
import socket
import struct

try:
    from OpenSSL import SSL, crypto
except ImportError:  # pragma: no cover - the test skips
    SSL = crypto = None

MAGIC = 0x2112A442
BINDING_REQUEST, BINDING_SUCCESS = 0x0001, 0x0101
A_USERNAME, A_MESSAGE_INTEGRITY, A_XOR_MAPPED_ADDRESS = 0x0006, 0x0008, 0x0020
A_PRIORITY, A_USE_CANDIDATE, A_FINGERPRINT = 0x0024, 0x0025, 0x8028
A_ICE_CONTROLLED, A_ICE_CONTROLLING = 0x8029, 0x802A


def _attr(kind, value):
    return struct.pack('!HH', kind, len(value)) + value + b'\0' * (-len(value) % 4)


def stun_message(kind, tid, attrs, key):
    """A STUN message with MESSAGE-INTEGRITY (HMAC-SHA1 with `key`) and FINGERPRINT."""
    body = b''.join(_attr(k, v) for k, v in attrs)
    head = struct.pack('!HHI', kind, len(body) + 24, MAGIC) + tid
    mi = hmac.new(key, head + body, hashlib.sha1).digest()
    body += _attr(A_MESSAGE_INTEGRITY, mi)
    head = struct.pack('!HHI', kind, len(body) + 8, MAGIC) + tid
    crc = (binascii.crc32(head + body) ^ 0x5354554E) & 0xFFFFFFFF
    return head + body + _attr(A_FINGERPRINT, struct.pack('!I', crc))


def stun_parse(data):
    """(type, transaction id, {attribute: value}) or None."""
    if len(data) < 20 or data[0] > 3:
        return None
    kind, length, magic = struct.unpack('!HHI', data[:8])
    if magic != MAGIC or 20 + length > len(data):
        return None
    attrs, off = {}, 20
    while off + 4 <= 20 + length:
        k, n = struct.unpack('!HH', data[off:off + 4])
        attrs.setdefault(k, data[off + 4:off + 4 + n])
        off += 4 + n + (-n % 4)
    return kind, data[8:20], attrs


class _Proto(asyncio.DatagramProtocol):
    def __init__(self, peer):
        self.peer = peer

    def datagram_received(self, data, addr):
        self.peer._received(data, addr)


class BarePublisher:
    def __init__(self, certificate=False):
        self.ufrag = base64.b64encode(os.urandom(6)).decode().replace('/', 'a').replace('+', 'b')
        self.pwd = base64.b64encode(os.urandom(18)).decode().replace('/', 'a').replace('+', 'b')
        self.tiebreaker = os.urandom(8)
        self.remote_ufrag = self.remote_pwd = None
        self.gateway = None            # (host, port) of the gateway's candidate
        self.transport = None
        self.port = None
        self.checks_answered = 0       # the gateway's binding requests we answered
        self.ice_ok = asyncio.Event()  # a success response to our USE-CANDIDATE check
        self.dtls_done = asyncio.Event()
        self.dtls_result = None        # 'connected' or the error text
        self.dtls_in = []              # DTLS datagrams from the gateway (first bytes)
        self._tids = set()
        self.ctx_cert = None
        self.fingerprint = None        # "sha-256 AB:CD:..." of our certificate, if any
        self._ssl = self._dtls_connection(certificate)

    # -- DTLS (OpenSSL) ------------------------------------------------------------

    def _dtls_connection(self, certificate):
        ctx = SSL.Context(SSL.DTLS_METHOD)
        ctx.set_tlsext_use_srtp(b'SRTP_AES128_CM_SHA1_80')
        ctx.set_verify(SSL.VERIFY_NONE, lambda *a: True)
        if certificate:
            key = crypto.PKey()
            key.generate_key(crypto.TYPE_RSA, 2048)
            cert = crypto.X509()
            cert.get_subject().CN = 'bare-peer'
            cert.set_serial_number(int.from_bytes(os.urandom(8), 'big'))
            cert.gmtime_adj_notBefore(-3600)
            cert.gmtime_adj_notAfter(86400)
            cert.set_issuer(cert.get_subject())
            cert.set_pubkey(key)
            cert.sign(key, 'sha256')
            ctx.use_privatekey(key)
            ctx.use_certificate(cert)
            self.fingerprint = 'sha-256 ' + cert.digest('sha256').decode()
        conn = SSL.Connection(ctx, None)
        conn.set_connect_state()
        conn.set_ciphertext_mtu(1200)
        return conn

    def _dtls_step(self, data=None):
        if data is not None:
            self._ssl.bio_write(data)
        if not self.dtls_done.is_set():
            try:
                self._ssl.do_handshake()
                self.dtls_result = 'connected'
                self.dtls_done.set()
            except SSL.WantReadError:
                pass
            except SSL.Error as e:
                self.dtls_result = 'error: %s' % (e,)
                self.dtls_done.set()
        while True:
            try:
                out = self._ssl.bio_read(65536)
            except SSL.WantReadError:
                break
            if not out:
                break
            self.transport.sendto(out, self.gateway)

    # -- SDP -----------------------------------------------------------------------

    async def start(self):
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(
            lambda: _Proto(self), local_addr=('127.0.0.1', 0), family=socket.AF_INET)
        self.port = self.transport.get_extra_info('sockname')[1]
        return self

    def offer(self, template):
        """`template` (a real publish offer) with our ICE credentials, our
        one candidate and our fingerprint (when we have a certificate)."""
        sdp = re.sub(r'(?m)^a=ice-ufrag:\S+', 'a=ice-ufrag:' + self.ufrag, template)
        sdp = re.sub(r'(?m)^a=ice-pwd:\S+', 'a=ice-pwd:' + self.pwd, sdp)
        sdp = re.sub(r'(?m)^a=(candidate|end-of-candidates)[^\r\n]*\r?\n', '', sdp)
        if self.fingerprint:
            sdp = re.sub(r'(?m)^a=fingerprint:[^\r\n]*', 'a=fingerprint:' + self.fingerprint, sdp)
        cand = ('a=candidate:1 1 UDP 2130706431 127.0.0.1 %d typ host\r\n'
                'a=end-of-candidates\r\n' % self.port)
        return re.sub(r'(?m)^(a=mid:[^\r\n]*\r?\n)', lambda m: m.group(1) + cand, sdp, count=1)

    def close(self):
        if self.transport is not None:
            self.transport.close()

    # -- ICE -------------------------------------------------------------------------

    async def connect(self, answer, timeout=10.0):
        """ICE with the answer's credentials and host candidate, then DTLS."""
        self.remote_ufrag = re.search(r'(?m)^a=ice-ufrag:(\S+)', answer).group(1)
        self.remote_pwd = re.search(r'(?m)^a=ice-pwd:(\S+)', answer).group(1)
        m = re.search(r'(?m)^a=candidate:\S+ 1 (?i:udp) \d+ 127\.0\.0\.1 (\d+) typ host', answer)
        self.gateway = ('127.0.0.1', int(m.group(1)))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (self.ice_ok.is_set() and self.checks_answered):
            if loop.time() > deadline:
                raise AssertionError('bare peer: no ICE with the gateway within %.0f s (our '
                                     'checks answered: %s, its checks answered: %d)'
                                     % (timeout, self.ice_ok.is_set(), self.checks_answered))
            self._send_check()
            await asyncio.sleep(0.1)
        self._dtls_step()   # ClientHello
        try:
            await asyncio.wait_for(self.dtls_done.wait(), max(0.1, deadline - loop.time()))
        except asyncio.TimeoutError:
            self.dtls_result = 'no end of the handshake within %.0f s' % timeout

    def _send_check(self):
        tid = os.urandom(12)
        self._tids.add(tid)
        attrs = [(A_USERNAME, ('%s:%s' % (self.remote_ufrag, self.ufrag)).encode()),
                 (A_PRIORITY, struct.pack('!I', 2130706431)),
                 (A_ICE_CONTROLLING, self.tiebreaker),
                 (A_USE_CANDIDATE, b'')]
        self.transport.sendto(stun_message(BINDING_REQUEST, tid, attrs, self.remote_pwd.encode()),
                              self.gateway)

    def _received(self, data, addr):
        if data and 20 <= data[0] <= 63:
            self.dtls_in.append(data[:16])
            self._dtls_step(data)
            return
        msg = stun_parse(data)
        if msg is None:
            return
        kind, tid, attrs = msg
        if kind == BINDING_SUCCESS and tid in self._tids:
            self.ice_ok.set()
        elif kind == BINDING_REQUEST and self.remote_ufrag:
            user = attrs.get(A_USERNAME, b'').decode('utf-8', 'replace')
            if user != '%s:%s' % (self.ufrag, self.remote_ufrag):
                return
            port = addr[1] ^ (MAGIC >> 16)
            ip = struct.unpack('!I', socket.inet_aton(addr[0]))[0] ^ MAGIC
            xma = struct.pack('!BBHI', 0, 1, port, ip)
            self.transport.sendto(stun_message(BINDING_SUCCESS, tid, [(A_XOR_MAPPED_ADDRESS, xma)],
                                               self.pwd.encode()), addr)
            self.checks_answered += 1
