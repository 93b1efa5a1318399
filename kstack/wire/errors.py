"""WireError — the one exception of kstack.wire (smoltcp src/wire/mod.rs `Error`, Linux's
header-validation drops such as SKB_DROP_REASON_PKT_TOO_SMALL / IP_INHDR).

A parser either returns a value or raises WireError; callers in net/ turn it into a
counted drop (kfree_skb + MIB counter) and never let it escape a *_rcv function.
"""


class WireError(ValueError):
    """Malformed or truncated wire data.

    `.reason` is a short token naming what was wrong: "short" (buffer ends inside the
    header), "bad_version", "bad_ihl", "bad_len", "bad_doff", "bad_option",
    "bad_addr_len", "bad_magic", "bad_block", "bad_text", "bad_offset".
    """

    __slots__ = ("reason",)

    def __init__(self, reason: str, detail: str | None = None) -> None:
        self.reason = reason
        super().__init__(reason if detail is None else f"{reason}: {detail}")
