"""The capture channel: packet taps on a ZeroMQ XPUB (net/packet/af_packet.c's role for tcpdump).

Subscribers connect a SUB to ipc://RUNDIR/capture and subscribe to a device name
(b"lo", b"eth0") or to b"" for every device. While at least one subscription is
live the daemon has one ETH_P_ALL PacketType on ``net.ptype_all`` (dev_add_pack),
so dev_queue_xmit_nit and __netif_receive_skb hand it a clone of every frame;
with no subscriber the tap is removed and costs nothing.

Each frame is published as three ZeroMQ frames: the device name, msgpack
``[wall_seconds, ifindex, pkt_type, orig_len]`` (pkt_type: PACKET_HOST 0 ...
PACKET_OUTGOING 4), and the frame's bytes from its link-layer header.
"""
import os

import msgpack
import zmq

from ..core.dev import dev_add_pack, dev_remove_pack
from ..core.netdevice import NET_RX_SUCCESS, PacketType
from .proto import CAPTURE_EP

ETH_P_ALL = 0x0003
SNAPLEN = 262144


class CaptureServer:
    def __init__(self, d):
        self.d = d
        self.sock = d.ctx.socket(zmq.XPUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.XPUB_VERBOSE, 1)
        self.sock.setsockopt(zmq.SNDHWM, 10000)
        old = os.umask(0o077)
        try:
            self.sock.bind("ipc://" + os.path.join(d.rundir, CAPTURE_EP))
        finally:
            os.umask(old)
        self.subs = {}          # topic -> count
        self.pt = None
        self.more = False
        self.sent = 0
        self.dropped = 0

    def process(self) -> None:
        if not self.more:
            return
        sock = self.sock
        while sock.getsockopt(zmq.EVENTS) & int(zmq.POLLIN):
            try:
                msg = sock.recv(zmq.NOBLOCK)
            except zmq.ZMQError:
                break
            if not msg:
                continue
            topic = bytes(msg[1:])
            if msg[0] == 1:
                self.subs[topic] = self.subs.get(topic, 0) + 1
            elif msg[0] == 0 and topic in self.subs:
                self.subs[topic] -= 1
                if self.subs[topic] <= 0:
                    del self.subs[topic]
        self.more = False
        self._update_tap()

    def _update_tap(self) -> None:
        net = self.d.net
        if self.subs and self.pt is None:
            self.pt = PacketType(ETH_P_ALL, self._tap)
            dev_add_pack(net, self.pt)
        elif not self.subs and self.pt is not None:
            dev_remove_pack(net, self.pt)
            self.pt = None

    def _tap(self, skb, dev, pt, orig_dev) -> int:
        start = skb.mac_header if skb.mac_header >= 0 else skb.data
        frame = bytes(skb.head[start:skb.tail])
        meta = msgpack.packb([self.d.clock.wall(), dev.ifindex, skb.pkt_type, len(frame)])
        try:
            self.sock.send_multipart([dev.name.encode(), meta, frame[:SNAPLEN]], zmq.NOBLOCK)
            self.sent += 1
        except zmq.ZMQError:
            self.dropped += 1
        return NET_RX_SUCCESS

    def close(self) -> None:
        if self.pt is not None:
            dev_remove_pack(self.d.net, self.pt)
            self.pt = None
        self.sock.close(0)
