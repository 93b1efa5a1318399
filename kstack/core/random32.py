"""lib/random32.c: prandom, a small seeded PRNG for ISNs, ports and IP ids.

Protocol code may not import ``random``; each Net owns one of these, seeded,
so a test run is the same every time. SplitMix64 is enough for a simulator.
"""

_M64 = (1 << 64) - 1


class Prandom:
    __slots__ = ("state",)

    def __init__(self, seed: int = 0):
        self.state = seed & _M64

    def _next64(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & _M64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
        return z ^ (z >> 31)

    def get_random_u32(self) -> int:
        return self._next64() >> 32

    def get_random_u16(self) -> int:
        return self._next64() >> 48

    def prandom_u32_max(self, ep_ro: int) -> int:
        """A value in [0, ep_ro), as the kernel's reciprocal scaling does."""
        return (self.get_random_u32() * ep_ro) >> 32

    def randbytes(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            out += self._next64().to_bytes(8, "little")
        return bytes(out[:n])
