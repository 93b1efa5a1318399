"""include/net/snmp.h, net/ipv4/proc.c: MIB counters as /proc/net/snmp and /proc/net/netstat name them.

Counters are plain ints in per-group dicts: ``net.mib.Ip['InReceives'] += 1``
or the kernel-shaped helpers ``IP_INC_STATS(net, 'InReceives')``. The field
order is the kernel's, so snmp_seq_show() prints what nstat and netstat read.
"""

SNMP_FIELDS = {
    "Ip": ["Forwarding", "DefaultTTL", "InReceives", "InHdrErrors", "InAddrErrors",
           "ForwDatagrams", "InUnknownProtos", "InDiscards", "InDelivers", "OutRequests",
           "OutDiscards", "OutNoRoutes", "ReasmTimeout", "ReasmReqds", "ReasmOKs",
           "ReasmFails", "FragOKs", "FragFails", "FragCreates", "OutTransmits"],
    "Icmp": ["InMsgs", "InErrors", "InCsumErrors", "InDestUnreachs", "InTimeExcds",
             "InParmProbs", "InSrcQuenchs", "InRedirects", "InEchos", "InEchoReps",
             "InTimestamps", "InTimestampReps", "InAddrMasks", "InAddrMaskReps",
             "OutMsgs", "OutErrors", "OutRateLimitGlobal", "OutRateLimitHost",
             "OutDestUnreachs", "OutTimeExcds", "OutParmProbs", "OutSrcQuenchs",
             "OutRedirects", "OutEchos", "OutEchoReps", "OutTimestamps",
             "OutTimestampReps", "OutAddrMasks", "OutAddrMaskReps"],
    "Tcp": ["RtoAlgorithm", "RtoMin", "RtoMax", "MaxConn", "ActiveOpens", "PassiveOpens",
            "AttemptFails", "EstabResets", "CurrEstab", "InSegs", "OutSegs", "RetransSegs",
            "InErrs", "OutRsts", "InCsumErrors"],
    "Udp": ["InDatagrams", "NoPorts", "InErrors", "OutDatagrams", "RcvbufErrors",
            "SndbufErrors", "InCsumErrors", "IgnoredMulti", "MemErrors"],
    "UdpLite": ["InDatagrams", "NoPorts", "InErrors", "OutDatagrams", "RcvbufErrors",
                "SndbufErrors", "InCsumErrors", "IgnoredMulti", "MemErrors"],
}

NETSTAT_FIELDS = {
    "TcpExt": ["SyncookiesSent", "SyncookiesRecv", "SyncookiesFailed", "EmbryonicRsts",
               "PruneCalled", "RcvPruned", "OfoPruned", "OutOfWindowIcmps", "LockDroppedIcmps",
               "ArpFilter", "TW", "TWRecycled", "TWKilled", "PAWSActive", "PAWSEstab",
               "DelayedACKs", "DelayedACKLocked", "DelayedACKLost", "ListenOverflows",
               "ListenDrops", "TCPHPHits", "TCPPureAcks", "TCPHPAcks", "TCPRenoRecovery",
               "TCPSackRecovery", "TCPSACKReneging", "TCPSACKReorder", "TCPRenoReorder",
               "TCPTSReorder", "TCPFullUndo", "TCPPartialUndo", "TCPDSACKUndo", "TCPLossUndo",
               "TCPLostRetransmit", "TCPRenoFailures", "TCPSackFailures", "TCPLossFailures",
               "TCPFastRetrans", "TCPSlowStartRetrans", "TCPTimeouts", "TCPLossProbes",
               "TCPLossProbeRecovery", "TCPRenoRecoveryFail", "TCPSackRecoveryFail",
               "TCPRcvCollapsed", "TCPDSACKOldSent", "TCPDSACKOfoSent", "TCPDSACKRecv",
               "TCPDSACKOfoRecv", "TCPAbortOnData", "TCPAbortOnClose", "TCPAbortOnMemory",
               "TCPAbortOnTimeout", "TCPAbortOnLinger", "TCPAbortFailed", "TCPMemoryPressures",
               "TCPSACKDiscard", "TCPDSACKIgnoredOld", "TCPDSACKIgnoredNoUndo",
               "TCPSpuriousRTOs", "TCPBacklogCoalesce", "TCPBacklogDrop", "TCPMinTTLDrop",
               "TCPDeferAcceptDrop", "TCPSYNChallenge", "TCPChallengeACK", "TCPSpuriousRtxHostQueues",
               "TCPRcvCoalesce", "TCPOFOQueue", "TCPOFODrop", "TCPOFOMerge",
               "TCPFromZeroWindowAdv", "TCPToZeroWindowAdv", "TCPWantZeroWindowAdv",
               "TCPSynRetrans", "TCPOrigDataSent", "TCPKeepAlive", "TCPWinProbe",
               "TCPAckCompressed", "TCPZeroWindowDrop", "TCPRcvQDrop", "TCPTimeWaitOverflow",
               "TCPReqQFullDrop", "TCPRetransFail", "TCPACKSkippedSynRecv", "TCPACKSkippedPAWS",
               "TCPACKSkippedSeq", "TCPACKSkippedFinWait2", "TCPACKSkippedTimeWait",
               "TCPACKSkippedChallenge", "TCPDelivered", "TCPInvalidSack", "BeyondWindow", "PAWSTimewait",
               "TCPDSACKIgnoredDubious", "TCPHystartTrainDetect", "TCPHystartTrainCwnd",
               "TCPHystartDelayDetect", "TCPHystartDelayCwnd", "TCPReqQFullDoCookies"],
    "IpExt": ["InNoRoutes", "InTruncatedPkts", "InMcastPkts", "OutMcastPkts", "InBcastPkts",
              "OutBcastPkts", "InOctets", "OutOctets", "InMcastOctets", "OutMcastOctets",
              "InBcastOctets", "OutBcastOctets", "InCsumErrors", "InNoECTPkts",
              "InECT1Pkts", "InECT0Pkts", "InCEPkts", "ReasmOverlaps"],
}


class Mib:
    """All counters of one namespace. Attribute per group: mib.Ip, mib.TcpExt, ..."""

    def __init__(self):
        for group, fields in {**SNMP_FIELDS, **NETSTAT_FIELDS}.items():
            setattr(self, group, dict.fromkeys(fields, 0))
        self.IcmpMsg = {}  # InType8, OutType0, ... created on first use
        self.Ip["Forwarding"] = 2
        self.Ip["DefaultTTL"] = 64
        self.Tcp.update(RtoAlgorithm=1, RtoMin=200, RtoMax=120000, MaxConn=-1)

    def groups(self):
        names = list(SNMP_FIELDS) + ["IcmpMsg"] + list(NETSTAT_FIELDS)
        return [(n, getattr(self, n)) for n in names]

    def snapshot(self) -> dict:
        """{'IpInReceives': n, 'TcpExtDelayedACKs': n, ...}: nstat's flat names."""
        out = {}
        for group, d in self.groups():
            for k, v in d.items():
                out[group + k] = v
        return out

    def reset(self) -> None:
        for group, d in self.groups():
            for k in d:
                if group == "Ip" and k in ("Forwarding", "DefaultTTL"):
                    continue
                if group == "Tcp" and k in ("RtoAlgorithm", "RtoMin", "RtoMax", "MaxConn", "CurrEstab"):
                    continue
                d[k] = 0


def snmp_seq_show(mib: Mib) -> str:
    """/proc/net/snmp text: a header line and a value line per group."""
    lines = []
    for group in list(SNMP_FIELDS):
        d = getattr(mib, group)
        lines.append(group + ": " + " ".join(d))
        lines.append(group + ": " + " ".join(str(v) for v in d.values()))
        if group == "Icmp" and mib.IcmpMsg:
            keys = sorted(mib.IcmpMsg)
            lines.append("IcmpMsg: " + " ".join(keys))
            lines.append("IcmpMsg: " + " ".join(str(mib.IcmpMsg[k]) for k in keys))
    return "\n".join(lines) + "\n"


def netstat_seq_show(mib: Mib) -> str:
    lines = []
    for group in NETSTAT_FIELDS:
        d = getattr(mib, group)
        lines.append(group + ": " + " ".join(d))
        lines.append(group + ": " + " ".join(str(v) for v in d.values()))
    return "\n".join(lines) + "\n"


# Kernel-shaped helpers. The double-underscore forms are the same here (no BH).
def IP_INC_STATS(net, field: str, n: int = 1) -> None:
    net.mib.Ip[field] += n


def IP_ADD_STATS(net, field: str, n: int) -> None:
    net.mib.Ip[field] += n


def IP_UPD_PO_STATS(net, field: str, octets: int) -> None:
    """InReceives/OutRequests style: packets plus IpExt octets."""
    net.mib.Ip[field] += 1
    if field == "InReceives":
        net.mib.IpExt["InOctets"] += octets
    elif field in ("OutRequests", "OutTransmits"):
        net.mib.IpExt["OutOctets"] += octets


def ICMP_INC_STATS(net, field: str) -> None:
    net.mib.Icmp[field] += 1


def ICMPMSGIN_INC_STATS(net, type_: int) -> None:
    k = f"InType{type_}"
    net.mib.IcmpMsg[k] = net.mib.IcmpMsg.get(k, 0) + 1


def ICMPMSGOUT_INC_STATS(net, type_: int) -> None:
    k = f"OutType{type_}"
    net.mib.IcmpMsg[k] = net.mib.IcmpMsg.get(k, 0) + 1


def UDP_INC_STATS(net, field: str) -> None:
    net.mib.Udp[field] += 1


def TCP_INC_STATS(net, field: str, n: int = 1) -> None:
    net.mib.Tcp[field] += n


def TCP_DEC_STATS(net, field: str) -> None:
    net.mib.Tcp[field] -= 1


def NET_INC_STATS(net, field: str, n: int = 1) -> None:
    """LINUX_MIB_* counters, shown under TcpExt."""
    net.mib.TcpExt[field] += n


__IP_INC_STATS = IP_INC_STATS
__TCP_INC_STATS = TCP_INC_STATS
__NET_INC_STATS = NET_INC_STATS
__UDP_INC_STATS = UDP_INC_STATS
