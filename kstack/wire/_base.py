"""Shared plumbing for the header classes (no kernel counterpart): __eq__, __repr__,
to_bytes(). Kept out of the per-packet path: parse() and emit() live in each module."""


class Header:
    __slots__ = ()
    _fields: tuple = ()

    def to_bytes(self) -> bytes:
        b = bytearray(self.buffer_len())
        self.emit(b, 0)
        return bytes(b)

    __bytes__ = to_bytes

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self._fields)

    __hash__ = None

    def _repr_field(self, name, value):
        if isinstance(value, (bytes, bytearray)):
            return f"{name}={bytes(value).hex()!r}" if value else f"{name}=b''"
        if name in ("check", "checksum", "h_proto", "frag_off", "tos", "un", "flags"):
            return f"{name}={value:#x}" if isinstance(value, int) else f"{name}={value!r}"
        return f"{name}={value!r}"

    def __repr__(self):
        body = ", ".join(self._repr_field(f, getattr(self, f)) for f in self._fields)
        return f"{type(self).__name__}({body})"


def raise_short(buf, offset: int, need: int) -> None:
    """Raise the WireError for "buf[offset:offset+need] does not exist" (bad_offset or short)."""
    from kstack.wire.errors import WireError
    if offset < 0:
        raise WireError("bad_offset", str(offset))
    raise WireError("short", f"need {need} bytes at offset {offset}, have {len(buf) - offset}")
