"""Parser for the packetdrill script language.

Turns a ``.pkt`` script into a small AST (:class:`Script`) that an interpreter
can execute against kstack's TCP on a fake clock.  The language is described in
``shared/packetdrill/README.md``; this module follows upstream packetdrill's
``lexer.l``/``parser.y`` closely enough to parse every script in that
directory, and is a little more lenient in a few harmless places (ack/win/urg
may come in any order, an errno need not be followed by a note).

Entry points
------------
``parse_file(path, defines=None) -> Script``
``parse_script(text, filename='<string>', defines=None) -> Script``
``tokenize(text, filename='<string>', defines=None) -> list[Token]``
``format_event(ev) -> str`` / ``Script.dump() -> str``
``format_tcp_packet(direction, flags, seq, end, length, ack, win, options)``

Errors raise :class:`ParseError`, whose ``str()`` is ``file:line:col: message``.

Times are kept exactly as integer microseconds (``TimeSpec.usecs`` etc.); the
float ``value``/``end``/``block_end`` properties are derived from them.
"""

from __future__ import annotations

import bisect
import re
import textwrap
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable, Optional, Union

__all__ = [
    "ParseError",
    "Token",
    "Lexer",
    "tokenize",
    "TimeSpec",
    "Event",
    "PacketEvent",
    "IcmpPacket",
    "UdpPacket",
    "SyscallEvent",
    "CommandEvent",
    "CodeEvent",
    "ScriptCommand",
    "Script",
    "Int",
    "Symbol",
    "BinOr",
    "EllipsisArg",
    "List",
    "Struct",
    "String",
    "Null",
    "Call",
    "parse_script",
    "parse_file",
    "format_event",
    "format_action",
    "format_time",
    "format_node",
    "format_tcp_packet",
    "format_tcp_options",
    "format_tcp_option",
    "format_flags",
    "TCP_FLAG_CHARS",
]

# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


class ParseError(Exception):
    """A lexical, syntax or semantic error in a script.

    ``str(err)`` is ``"<filename>:<line>:<col>: <message>"``; the parts are
    also available as attributes.
    """

    def __init__(self, message: str, filename: str = "<string>", line: int = 0, col: int = 0):
        self.message = message
        self.filename = filename
        self.line = line
        self.col = col
        super().__init__(f"{filename}:{line}:{col}: {message}")


# ---------------------------------------------------------------------------
# Lexer
# ---------------------------------------------------------------------------

# Token kinds
INT = "INT"  # value: int (decimal, 0x hex, or negative); text tells which
FLOAT = "FLOAT"  # value: str (the literal, e.g. ".1", "0.200", "-1.5")
WORD = "WORD"  # value: str, [A-Za-z0-9_]+ that is not a number
STRING = "STRING"  # value: str, contents of "..." (escapes kept raw)
BACKTICK = "BACKTICK"  # value: str, contents of `...` (may span lines)
CODE = "CODE"  # value: str, raw contents of %{ ... }%
ELLIPSIS = "ELLIPSIS"  # "..."
OPTION = "OPTION"  # value: (name, value-or-None) for a --name[=value] line
PUNCT = "PUNCT"  # value: the single character
EOF = "EOF"


@dataclass(frozen=True)
class Token:
    kind: str
    value: Any
    text: str  # the source text of the token
    start: int  # offsets into the source
    end: int
    line: int  # 1-based
    col: int  # 1-based
    expanded: bool = False  # produced by substituting a define

    def is_punct(self, ch: str) -> bool:
        return self.kind == PUNCT and self.value == ch

    def is_word(self, w: str) -> bool:
        return self.kind == WORD and self.value == w

    def describe(self) -> str:
        if self.kind == EOF:
            return "end of file"
        if self.kind == BACKTICK:
            return "a `command`"
        if self.kind == CODE:
            return "a %{ code }% block"
        if self.kind == STRING:
            return f"string {self.text!r}"
        if self.kind == OPTION:
            return f"option '{self.text}'"
        return f"'{self.text}'"


_WORD_RE = re.compile(r"[A-Za-z0-9_]+")
_HEX_RE = re.compile(r"0[xX][0-9a-fA-F]+\Z")
_DIGITS_RE = re.compile(r"[0-9]+")
_FLAGS_RE = re.compile(r"[A-Za-z.\-]+")
_WS = " \t\r\n\f\v"

# Words with a fixed meaning in the grammar; defines never replace these
# (upstream's flex lexer matches them as keywords before trying a define).
KEYWORDS = frozenset(
    """
    sa_family sin_port sin_addr msg_name msg_iov msg_flags msg_control
    cmsg_data cmsg_level cmsg_type ee_errno ee_origin ee_type ee_code ee_info
    ee_data scm_sec scm_nsec fd u32 u64 ptr events revents onoff linger htons
    ipv4 ipv6 icmp udp GREv0 gre raw mpls label tc ttl inet_addr inet6_addr
    ack eol ecr mss mtu nop sack sackOK md5 TS FO FOEXP tos flowlabel flags
    Flags val win urg wscale ect01 ect0 ect1 noecn ce id
    """.split()
)


class Lexer:
    """On-demand tokenizer.

    The parser pulls tokens with :meth:`next_token`.  A few constructs are not
    regular tokens and are read "raw" by the parser from a given offset: TCP
    flags (``S.``, ``FP.``, ``-``) and the free-text note after a syscall
    result (``(Operation now in progress)``).
    """

    def __init__(self, text: str, filename: str = "<string>", defines: Optional[dict] = None):
        self.text = text
        self.filename = filename
        self.pos = 0
        self.defines: dict[str, str] = dict(defines or {})
        self._pending: list[Token] = []
        self._line_starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]

    # -- positions and errors -------------------------------------------------

    def location(self, offset: int) -> tuple[int, int]:
        """1-based (line, col) of a source offset."""
        i = bisect.bisect_right(self._line_starts, offset) - 1
        return i + 1, offset - self._line_starts[i] + 1

    def error(self, message: str, offset: int) -> ParseError:
        line, col = self.location(offset)
        return ParseError(message, self.filename, line, col)

    def _tok(self, kind: str, value: Any, start: int, end: int) -> Token:
        line, col = self.location(start)
        return Token(kind, value, self.text[start:end], start, end, line, col)

    # -- whitespace and comments ------------------------------------------------

    def _skip(self) -> None:
        text, n = self.text, len(self.text)
        pos = self.pos
        while pos < n:
            c = text[pos]
            if c in _WS:
                pos += 1
            elif text.startswith("//", pos):
                nl = text.find("\n", pos)
                pos = n if nl < 0 else nl + 1
            elif text.startswith("/*", pos):
                close = text.find("*/", pos + 2)
                if close < 0:
                    raise self.error("unterminated /* comment", pos)
                pos = close + 2
            else:
                break
        self.pos = pos

    # -- tokens -------------------------------------------------------------------

    def next_token(self) -> Token:
        if self._pending:
            return self._pending.pop(0)
        tok = self._scan()
        if tok.kind == WORD and self.defines and tok.value in self.defines and tok.value not in KEYWORDS:
            return self._expand(tok)
        return tok

    def _expand(self, tok: Token) -> Token:
        """Substitute a defined word (``-D NAME=value``)."""
        value = str(self.defines[tok.value])
        mk = lambda kind, v: Token(kind, v, tok.text, tok.start, tok.end, tok.line, tok.col, True)  # noqa: E731
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            return mk(STRING, value[1:-1])
        if len(value) >= 2 and value[0] == "`" and value[-1] == "`":
            return mk(BACKTICK, value[1:-1])
        try:
            sub = tokenize(value, f"{self.filename}:define {tok.value}")
        except ParseError:
            sub = []
        if not sub:
            return mk(WORD, value)
        expanded = [mk(t.kind, t.value) for t in sub]
        self._pending = expanded[1:] + self._pending
        return expanded[0]

    def _scan(self) -> Token:
        self._skip()
        text, n, pos = self.text, len(self.text), self.pos
        if pos >= n:
            return self._tok(EOF, None, n, n)
        c = text[pos]
        nxt = text[pos + 1] if pos + 1 < n else ""

        if c == "`":
            i = pos + 1
            while i < n and text[i] != "`":
                i += 2 if text[i] == "\\" else 1
            if i >= n:
                raise self.error("unterminated backtick command (missing closing `)", pos)
            self.pos = i + 1
            return self._tok(BACKTICK, text[pos + 1 : i], pos, i + 1)

        if c == "%" and nxt == "{":
            close = text.find("}%", pos + 2)
            if close < 0:
                raise self.error("unterminated %{ code block (missing }%)", pos)
            self.pos = close + 2
            return self._tok(CODE, text[pos + 2 : close], pos, close + 2)

        if c == '"':
            i = pos + 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            if i >= n:
                raise self.error('unterminated string (missing closing ")', pos)
            self.pos = i + 1
            return self._tok(STRING, text[pos + 1 : i], pos, i + 1)

        if text.startswith("...", pos):
            self.pos = pos + 3
            return self._tok(ELLIPSIS, "...", pos, pos + 3)

        if c == "-" and nxt == "-" and pos + 2 < n and _WORD_RE.match(text, pos + 2):
            return self._scan_option(pos)

        if c == "-" and (nxt.isdigit() or (nxt == "." and pos + 2 < n and text[pos + 2].isdigit())):
            tok = self._scan_number(pos + 1)
            if tok.kind == INT:
                return self._tok(INT, -tok.value, pos, tok.end)
            if tok.kind == FLOAT:
                return self._tok(FLOAT, "-" + tok.value, pos, tok.end)
            # "-3abc": a '-' followed by a word; give back the '-' alone.
            self.pos = pos + 1
            return self._tok(PUNCT, "-", pos, pos + 1)

        if c.isdigit() or (c == "." and nxt.isdigit()):
            return self._scan_number(pos)

        if c.isalpha() or c == "_":
            m = _WORD_RE.match(text, pos)
            self.pos = m.end()
            return self._tok(WORD, m.group(), pos, m.end())

        self.pos = pos + 1
        return self._tok(PUNCT, c, pos, pos + 1)

    def _scan_number(self, pos: int) -> Token:
        text, n = self.text, len(self.text)
        if text[pos] == ".":  # leading-dot float: .1
            m = _DIGITS_RE.match(text, pos + 1)
            self.pos = m.end()
            return self._tok(FLOAT, text[pos : m.end()], pos, m.end())
        m = _WORD_RE.match(text, pos)
        word = m.group()
        end = m.end()
        if _HEX_RE.match(word):
            self.pos = end
            return self._tok(INT, int(word, 16), pos, end)
        if word.isdigit():
            if end + 1 < n and text[end] == "." and text[end + 1].isdigit():
                m2 = _DIGITS_RE.match(text, end + 1)
                self.pos = m2.end()
                return self._tok(FLOAT, text[pos : m2.end()], pos, m2.end())
            self.pos = end
            return self._tok(INT, int(word), pos, end)
        # A word that starts with a digit, e.g. a hex TFO cookie 3021b9d8...
        self.pos = end
        return self._tok(WORD, word, pos, end)

    def _scan_option(self, pos: int) -> Token:
        text, n = self.text, len(self.text)
        m = _WORD_RE.match(text, pos + 2)
        name = m.group()
        i = m.end()
        value: Optional[str] = None
        if i < n and text[i] == "=":
            i += 1
            if i < n and text[i] == '"':
                close = text.find('"', i + 1)
                if close < 0:
                    raise self.error('unterminated string in option value (missing closing ")', i)
                value = text[i + 1 : close]
                i = close + 1
            else:
                j = i
                while j < n and text[j] not in _WS:
                    j += 1
                value = text[i:j]
                i = j
        self.pos = i
        return self._tok(OPTION, (name, value), pos, i)

    # -- raw reads used by the parser ---------------------------------------------

    def read_flags(self, pos: int) -> Token:
        """Read TCP flags (``S.``, ``FP.``, ``-``...) starting at or after ``pos``."""
        self.pos = pos
        self._pending.clear()
        self._skip()
        start = self.pos
        m = _FLAGS_RE.match(self.text, start)
        if not m:
            raise self.error("expected TCP flags (e.g. S, S., P., F., R, '-' for none)", start)
        self.pos = m.end()
        return self._tok(WORD, m.group(), start, m.end())

    def read_note(self, open_paren_end: int) -> Token:
        """Read the free-text note after a '(' up to the matching ')'."""
        text, n = self.text, len(self.text)
        self._pending.clear()
        depth = 1
        i = open_paren_end
        while i < n:
            if text[i] == "(":
                depth += 1
            elif text[i] == ")":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        if i >= n:
            raise self.error("unterminated note (missing ')')", open_paren_end - 1)
        self.pos = i + 1
        note = " ".join(text[open_paren_end:i].split())
        return self._tok(STRING, note, open_paren_end - 1, i + 1)


def tokenize(text: str, filename: str = "<string>", defines: Optional[dict] = None) -> list[Token]:
    """All tokens of ``text`` (without the final EOF). Mainly for tests/debugging."""
    lex = Lexer(text, filename, defines)
    out = []
    while True:
        tok = lex.next_token()
        if tok.kind == EOF:
            return out
        out.append(tok)


# ---------------------------------------------------------------------------
# AST
# ---------------------------------------------------------------------------

USECS_PER_SEC = 1_000_000


@dataclass
class TimeSpec:
    """When an event happens.

    ``kind``: 'absolute' (``0.100``), 'relative' (``+.1``) or 'any' (``*``).
    ``usecs``: the time in microseconds (None for 'any').
    Window (``a~b`` / ``+a~+b``): ``end_kind`` and ``end_usecs``.
    Blocking syscall (``+0...0.200``): ``block_end_usecs``; ``block_end_kind``
    equals ``kind`` (a relative start makes the end relative to the same base).
    ``value``/``end``/``block_end`` give the same numbers in float seconds.
    """

    kind: str
    usecs: Optional[int] = None
    end_kind: Optional[str] = None
    end_usecs: Optional[int] = None
    block_end_kind: Optional[str] = None
    block_end_usecs: Optional[int] = None

    @property
    def value(self) -> Optional[float]:
        return None if self.usecs is None else self.usecs / USECS_PER_SEC

    @property
    def end(self) -> Optional[float]:
        return None if self.end_usecs is None else self.end_usecs / USECS_PER_SEC

    @property
    def block_end(self) -> Optional[float]:
        return None if self.block_end_usecs is None else self.block_end_usecs / USECS_PER_SEC

    @property
    def is_window(self) -> bool:
        return self.end_usecs is not None

    @property
    def is_blocking(self) -> bool:
        return self.block_end_usecs is not None


# -- syscall argument nodes ----------------------------------------------------


@dataclass
class Int:
    value: int
    hex: bool = False  # written as 0x...


@dataclass
class Symbol:
    name: str  # e.g. SOCK_STREAM, O_NONBLOCK, SOL_TCP


@dataclass
class BinOr:
    items: list  # nodes joined by '|', e.g. O_RDWR|O_NONBLOCK


@dataclass
class EllipsisArg:
    """``...``: "fill this in yourself"."""


@dataclass
class List:
    """``[v]`` (pointer to a value) or ``[a, b]`` (array); ``[]`` is empty."""

    items: list


@dataclass
class Struct:
    """``{...}``.

    Named form ``{onoff=1, linger=0}``: ``fields`` maps name -> node in order.
    A field written ``name(arg)=value`` (msghdr ``msg_iov(3)=[...]``,
    ``msg_name(...)=...``) also has ``field_args[name] = arg``.
    Positional form ``{..., 100}`` (an iovec): ``items``.
    The two forms are not mixed in one struct.
    """

    fields: dict = field(default_factory=dict)
    items: list = field(default_factory=list)
    field_args: dict = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)

    def __getitem__(self, name: str) -> Any:
        return self.fields[name]

    def __contains__(self, name: str) -> bool:
        return name in self.fields


@dataclass
class String:
    value: str  # contents, escapes kept as written
    prefix: bool = False  # written "abc"... (only a prefix is given)


@dataclass
class Null:
    """``NULL``."""


@dataclass
class Call:
    """``name(args)`` inside an argument, e.g. ``htons(8080)``, ``inet_addr("1.2.3.4")``."""

    name: str
    args: list


Node = Union[Int, Symbol, BinOr, EllipsisArg, List, Struct, String, Null, Call]


# -- actions ---------------------------------------------------------------------

TCP_FLAG_CHARS = "FSRP.UEWA"  # packetdrill's print order (tcpdump order)


class _PacketLine:
    """What every packet line has: ``direction`` '<' (injected) or '>' (expected)."""

    direction: str

    @property
    def inbound(self) -> bool:
        return self.direction == "<"

    @property
    def outbound(self) -> bool:
        return self.direction == ">"


@dataclass
class PacketEvent(_PacketLine):
    """A TCP packet line: ``< S. 0:0(0) ack 1 win 5792 <mss 1460,...>``.

    ``flags`` is the string as written ('-' means no flags; see ``flag_set``).
    ``ack``/``win``/``urg``: None when omitted.
    ``options``: None if the line had no option list (= expect no options),
    'any' for ``<...>``, else an ordered list of tuples: ('mss', n),
    ('wscale', n), ('sackOK', None), ('nop', None), ('eol', None),
    ('TS', (val, ecr)), ('sack', [(l, r), ...]), ('md5', hex), ('FO', hex),
    ('FOEXP', hex).
    ``ip_info``: None, or a dict from ``[ect0]`` / ``(tos 0x2, flowlabel 0x1)`` /
    ``[ttl 64]`` written before the flags. ``ports``: (src, dst) if written.
    """

    direction: str
    flags: str
    seq: int
    end: int
    length: int
    ack: Optional[int] = None
    win: Optional[int] = None
    options: Union[None, str, list] = None
    urg: Optional[int] = None
    ip_info: Optional[dict] = None
    ports: Optional[tuple] = None

    protocol = "tcp"

    @property
    def flag_set(self) -> frozenset:
        return frozenset() if self.flags == "-" else frozenset(self.flags)


@dataclass
class IcmpPacket(_PacketLine):
    """``< icmp unreachable frag_needed mtu 1200 [1:1461(1460)]``.

    ``echoed_protocol`` is 'tcp' for ``[seq:end(len)]`` (then ``echoed_seq``,
    ``echoed_end``, ``echoed_len`` are the quoted TCP segment), 'udp'/'raw' for
    ``[udp (N)]``/``[raw (N)]`` (only ``echoed_len``), None if nothing quoted.
    """

    direction: str
    icmp_type: str
    icmp_code: Optional[str] = None
    mtu: Optional[int] = None
    echo_id: Optional[int] = None
    echoed_protocol: Optional[str] = None
    echoed_seq: Optional[int] = None
    echoed_end: Optional[int] = None
    echoed_len: Optional[int] = None
    ip_info: Optional[dict] = None

    protocol = "icmp"


@dataclass
class UdpPacket(_PacketLine):
    """``< udp (100)`` (not used by the reference scripts)."""

    direction: str
    length: int
    ip_info: Optional[dict] = None
    ports: Optional[tuple] = None

    protocol = "udp"


@dataclass
class SyscallEvent:
    """``name(args) = result [ERRNO] [(note)]``.

    ``args`` are argument nodes; ``result`` the expected int return value
    (``result_hex`` if written 0x...); ``errno`` e.g. 'EINPROGRESS'; ``note``
    the free text in parentheses (whitespace collapsed), never checked.
    Blocking info (``...END``) lives in the event's TimeSpec.
    """

    name: str
    args: list
    result: int
    errno: Optional[str] = None
    note: Optional[str] = None
    result_hex: bool = False


@dataclass
class CommandEvent:
    """A timed shell command: ``+0 `nstat -n```; ``command`` is without backticks."""

    command: str


@dataclass
class CodeEvent:
    """A timed ``%{ python }%`` block; ``text`` is the raw text between the delimiters."""

    text: str

    @property
    def code(self) -> str:
        """The snippet ready to exec: dedented and stripped."""
        return textwrap.dedent(self.text.strip("\r\n")).strip()


Action = Union[PacketEvent, IcmpPacket, UdpPacket, SyscallEvent, CommandEvent, CodeEvent]


@dataclass
class Event:
    """One timed statement: ``line``/``col`` of its time, the ``time`` spec,
    exactly one ``action``, and ``source`` (the statement's text as written)."""

    line: int
    time: TimeSpec
    action: Action
    col: int = 1
    source: str = field(default="", compare=False)

    @property
    def kind(self) -> str:
        a = self.action
        if isinstance(a, PacketEvent):
            return "packet"
        if isinstance(a, IcmpPacket):
            return "icmp"
        if isinstance(a, UdpPacket):
            return "udp"
        if isinstance(a, SyscallEvent):
            return "syscall"
        if isinstance(a, CommandEvent):
            return "command"
        return "code"

    @property
    def is_blocking(self) -> bool:
        return self.time.is_blocking

    def format(self) -> str:
        return format_event(self)


@dataclass
class ScriptCommand:
    """The untimed init or cleanup command."""

    command: str
    line: int


@dataclass
class Script:
    filename: str
    options: dict = field(default_factory=dict)  # name -> value (str, or None for a bare --flag)
    init_command: Optional[ScriptCommand] = None
    events: list = field(default_factory=list)
    cleanup_command: Optional[ScriptCommand] = None
    defines: dict = field(default_factory=dict)  # caller's defines plus --define= lines

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)

    def option_int(self, name: str, default: Optional[int] = None) -> Optional[int]:
        v = self.options.get(name)
        return default if v is None else int(v, 0)

    @property
    def ip_version(self) -> Optional[str]:
        return self.options.get("ip_version")

    def dump(self) -> str:
        """Render the whole script back into packetdrill syntax (comments dropped)."""
        out = []
        for name, value in self.options.items():
            if value is None:
                out.append(f"--{name}")
            elif value == "" or any(c in _WS for c in value):
                out.append(f'--{name}="{value}"')
            else:
                out.append(f"--{name}={value}")
        if out:
            out.append("")
        if self.init_command is not None:
            out.append(f"`{self.init_command.command}`")
            out.append("")
        out.extend(format_event(ev) for ev in self.events)
        if self.cleanup_command is not None:
            out.append("")
            out.append(f"`{self.cleanup_command.command}`")
        return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------
# Parser
# ---------------------------------------------------------------------------

_U16 = 0xFFFF
_U32 = 0xFFFFFFFF
_ECN_WORDS = ("noecn", "ect0", "ect1", "ce", "ect01")


class _Parser:
    def __init__(self, text: str, filename: str, defines: Optional[dict]):
        self.text = text
        self.filename = filename
        self.caller_defines = dict(defines or {})
        self.lex = Lexer(text, filename, self.caller_defines)
        self.buf: list[Token] = []
        self.last_end = 0

    # -- token plumbing ------------------------------------------------------------

    def peek(self, k: int = 0) -> Token:
        while len(self.buf) <= k:
            self.buf.append(self.lex.next_token())
        return self.buf[k]

    def next(self) -> Token:
        tok = self.peek()
        self.buf.pop(0)
        self.last_end = max(self.last_end, tok.end)
        return tok

    def _unpeek_for_raw(self) -> int:
        """Drop look-ahead before a raw read; returns the offset to read from."""
        if not self.buf:
            return self.lex.pos
        tok = self.buf[0]
        if tok.expanded:
            raise self.error(f"a defined word cannot be used here ({tok.text})", tok)
        self.buf.clear()
        return tok.start

    def error(self, message: str, tok: Optional[Token] = None) -> ParseError:
        if tok is None:
            tok = self.peek()
        return ParseError(message, self.filename, tok.line, tok.col)

    def expect_punct(self, ch: str, context: str) -> Token:
        tok = self.next()
        if not tok.is_punct(ch):
            raise self.error(f"expected '{ch}' {context}, got {tok.describe()}", tok)
        return tok

    def expect_word(self, w: str, context: str) -> Token:
        tok = self.next()
        if not tok.is_word(w):
            raise self.error(f"expected '{w}' {context}, got {tok.describe()}", tok)
        return tok

    def expect_int(self, what: str, lo: int = 0, hi: Optional[int] = None) -> int:
        tok = self.next()
        if tok.kind != INT:
            raise self.error(f"expected an integer for {what}, got {tok.describe()}", tok)
        v = tok.value
        if v < lo or (hi is not None and v > hi):
            rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
            raise self.error(f"{what} {v} out of range ({rng})", tok)
        return v

    # -- script ----------------------------------------------------------------------

    def parse(self) -> Script:
        script = Script(filename=self.filename, defines=dict(self.caller_defines))
        cleanup_tok: Optional[Token] = None
        last_abs: Optional[int] = None
        while True:
            tok = self.peek()
            if tok.kind == EOF:
                break
            if tok.kind == OPTION:
                if script.init_command or script.events:
                    raise self.error("option lines (--name=value) must come before the init command and all events", tok)
                self.next()
                name, value = tok.value
                script.options[name] = value
                if name == "define" and value and "=" in value:
                    dname, dval = value.split("=", 1)
                    if dname not in self.caller_defines:  # command line wins
                        script.defines[dname] = dval
                        self.lex.defines[dname] = dval
                continue
            if cleanup_tok is not None:
                raise self.error(
                    "nothing may follow the cleanup command (an untimed `command` is only allowed "
                    "before the first event or after the last one)",
                    tok,
                )
            if tok.kind == BACKTICK:
                self.next()
                if not script.events:
                    if script.init_command is not None:
                        raise self.error("only one init command (untimed `command`) is allowed before the first event", tok)
                    script.init_command = ScriptCommand(tok.value, tok.line)
                else:
                    script.cleanup_command = ScriptCommand(tok.value, tok.line)
                    cleanup_tok = tok
                continue
            if tok.is_punct("+") or tok.is_punct("*") or tok.kind in (INT, FLOAT):
                ev = self.parse_event()
                t = ev.time
                if not script.events and t.kind == "absolute" and t.usecs != 0:
                    raise ParseError("the first event must be at time 0", self.filename, ev.line, ev.col)
                if t.kind == "absolute":
                    if last_abs is not None and t.usecs < last_abs:
                        raise ParseError(
                            f"time goes backwards: {format_time(t)} is before the previous absolute time "
                            f"{_fmt_secs(last_abs)}",
                            self.filename,
                            ev.line,
                            ev.col,
                        )
                    last_abs = t.usecs
                script.events.append(ev)
                continue
            raise self.error(
                f"expected an event time (e.g. 0, +.1, *), an option line or a `command`, got {tok.describe()}", tok
            )
        return script

    # -- events ------------------------------------------------------------------------

    def parse_event(self) -> Event:
        first = self.peek()
        time = self.parse_time()
        tok = self.peek()
        if tok.is_punct("<") or tok.is_punct(">"):
            action: Action = self.parse_packet()
        elif tok.kind == BACKTICK:
            self.next()
            action = CommandEvent(tok.value)
        elif tok.kind == CODE:
            self.next()
            action = CodeEvent(tok.value)
        elif tok.kind == WORD:
            action = self.parse_syscall()
        else:
            raise self.error(
                f"expected a packet ('<' or '>'), a syscall, a `command` or a %{{ code }}% block after the time, "
                f"got {tok.describe()}",
                tok,
            )
        ev = Event(first.line, time, action, first.col, self.text[first.start : self.last_end])
        self.check_event(ev, first)
        return ev

    def check_event(self, ev: Event, first: Token) -> None:
        t, a = ev.time, ev.action
        where = lambda msg: ParseError(msg, self.filename, first.line, first.col)  # noqa: E731
        outbound_packet = isinstance(a, (PacketEvent, IcmpPacket, UdpPacket)) and a.direction == ">"
        if t.kind == "any" and not outbound_packet:
            raise where("event time '*' can only be used with outbound packets")
        if t.is_window:
            if not outbound_packet:
                raise where("event time range (a~b) can only be used with outbound packets")
            if t.end_usecs < t.usecs:
                raise where("time range is backwards")
        if t.is_blocking:
            if not isinstance(a, SyscallEvent):
                raise where("a blocking end time (...END) can only be used with system calls")
            if t.block_end_usecs < t.usecs:
                raise where("blocking end time is before the start time")

    def _time_number(self, context: str) -> int:
        tok = self.next()
        if tok.kind not in (INT, FLOAT) or (tok.kind == INT and tok.text.lower().lstrip("-").startswith("0x")):
            raise self.error(f"expected a time in seconds {context}, got {tok.describe()}", tok)
        try:
            d = Decimal(tok.text if tok.kind == FLOAT else str(tok.value))
        except InvalidOperation:  # pragma: no cover - lexer guarantees a number
            raise self.error(f"bad time {tok.text!r}", tok)
        if d < 0:
            raise self.error("negative time", tok)
        return int((d * USECS_PER_SEC).to_integral_value())

    def parse_time(self) -> TimeSpec:
        tok = self.peek()
        if tok.is_punct("*"):
            self.next()
            ts = TimeSpec("any")
        elif tok.is_punct("+"):
            self.next()
            ts = TimeSpec("relative", self._time_number("after '+'"))
        else:
            ts = TimeSpec("absolute", self._time_number("at the start of an event"))
        if self.peek().is_punct("~"):
            tilde = self.next()
            if ts.kind == "any":
                raise self.error("'*' cannot start a time range", tilde)
            if self.peek().is_punct("+"):
                self.next()
                end_kind = "relative"
            else:
                end_kind = "absolute"
            if end_kind != ts.kind:
                raise self.error(
                    "both ends of a time range must be absolute (a~b) or both relative (+a~+b)", tilde
                )
            ts.end_kind = end_kind
            ts.end_usecs = self._time_number("after '~'")
        if self.peek().kind == ELLIPSIS:
            ell = self.next()
            if ts.kind == "any" or ts.is_window:
                raise self.error("a blocking end time (...END) needs a plain start time", ell)
            if self.peek().is_punct("+"):
                raise self.error("the blocking end time is written without '+' (e.g. +0...0.200)", self.peek())
            ts.block_end_kind = ts.kind
            ts.block_end_usecs = self._time_number("after '...'")
        return ts

    # -- packets ---------------------------------------------------------------------------

    def parse_ip_info(self) -> Optional[dict]:
        tok = self.peek()
        if not (tok.is_punct("[") or tok.is_punct("(")):
            return None
        opener = self.next()
        closer = "]" if opener.value == "[" else ")"
        info: dict = {}
        while True:
            w = self.next()
            if w.kind != WORD:
                raise self.error(f"expected IP info (ect0, ect1, ce, noecn, ect01, tos N, flowlabel N, ttl N), got {w.describe()}", w)
            if w.value in _ECN_WORDS:
                key, val = "ecn", w.value
            elif w.value in ("tos", "flowlabel", "ttl"):
                key, val = w.value, self.expect_int(w.value, 0, {"tos": 0xFF, "flowlabel": 0xFFFFF, "ttl": 0xFF}[w.value])
            else:
                raise self.error(f"unknown IP info '{w.value}'", w)
            if key in info:
                raise self.error(f"duplicate IP info '{w.value}'", w)
            info[key] = val
            sep = self.next()
            if sep.is_punct(closer):
                return info
            if not sep.is_punct(","):
                raise self.error(f"expected ',' or '{closer}' in IP info, got {sep.describe()}", sep)

    def parse_ports(self) -> Optional[tuple]:
        if self.peek().kind == INT and self.peek(1).is_punct(">"):
            src = self.expect_int("source port", 0, _U16)
            self.next()
            dst = self.expect_int("destination port", 0, _U16)
            return (src, dst)
        return None

    def parse_packet(self) -> Action:
        direction = self.next().value
        ip_info = self.parse_ip_info()
        tok = self.peek()
        if tok.is_word("icmp"):
            return self.parse_icmp(direction, ip_info)
        if tok.is_word("udp"):
            self.next()
            ports = self.parse_ports()
            self.expect_punct("(", "before the UDP payload length")
            length = self.expect_int("UDP payload length", 0, _U16)
            self.expect_punct(")", "after the UDP payload length")
            return UdpPacket(direction, length, ip_info, ports)
        ports = self.parse_ports()
        flags = self.read_flags()
        seq, end, length = self.parse_seq("TCP")
        ack = win = urg = None
        options: Union[None, str, list] = None
        seen: set = set()
        while True:
            tok = self.peek()
            if tok.kind == WORD and tok.value in ("ack", "win", "urg"):
                if tok.value in seen:
                    raise self.error(f"duplicate '{tok.value}'", tok)
                seen.add(tok.value)
                self.next()
                if tok.value == "ack":
                    ack = self.expect_int("TCP ack sequence number", 0, _U32)
                elif tok.value == "win":
                    win = self.expect_int("TCP window", 0, _U16)
                else:
                    urg = self.expect_int("TCP urgent pointer", 0, _U16)
            elif tok.is_punct("<"):
                options = self.parse_tcp_options()
                break
            else:
                break
        if direction == "<":
            if win is None:
                raise self.error("window (win N) must be specified for inbound packets", tok)
            if options == "any":
                raise self.error("<...> for TCP options can only be used with outbound packets", tok)
        return PacketEvent(direction, flags, seq, end, length, ack, win, options, urg, ip_info, ports)

    def read_flags(self) -> str:
        pos = self._unpeek_for_raw()
        tok = self.lex.read_flags(pos)
        self.last_end = tok.end
        flags = tok.value
        if flags == "-":
            return flags
        if "-" in flags:
            raise self.error(f"'-' (no flags) cannot be combined with other flags in '{flags}'", tok)
        for ch in flags:
            if ch not in TCP_FLAG_CHARS:
                raise self.error(
                    f"invalid TCP flag '{ch}' in '{flags}' (valid: F S R P . U E W A, or '-' for none)", tok
                )
        if len(set(flags)) != len(flags):
            raise self.error(f"duplicate TCP flag in '{flags}'", tok)
        return flags

    def parse_seq(self, what: str) -> tuple[int, int, int]:
        first = self.peek()
        seq = self.expect_int(f"{what} start sequence number", 0, _U32)
        self.expect_punct(":", f"in {what} sequence range SEQ:END(LEN)")
        end = self.expect_int(f"{what} end sequence number", 0, _U32)
        self.expect_punct("(", f"in {what} sequence range SEQ:END(LEN)")
        length = self.expect_int(f"{what} payload length", 0, _U16)
        self.expect_punct(")", f"in {what} sequence range SEQ:END(LEN)")
        if end != seq + length:
            raise self.error(
                f"inconsistent {what} sequence numbers and payload length: "
                f"{seq}:{end}({length}) but {seq}+{length} = {seq + length}",
                first,
            )
        return seq, end, length

    def parse_tcp_options(self) -> Union[str, list]:
        self.expect_punct("<", "to start TCP options")
        if self.peek().kind == ELLIPSIS:
            self.next()
            self.expect_punct(">", "after <...")
            return "any"
        opts: list = []
        while True:
            tok = self.next()
            if tok.kind != WORD:
                raise self.error(f"expected a TCP option name, got {tok.describe()}", tok)
            name = tok.value
            if name in ("nop", "eol", "sackOK"):
                opts.append((name, None))
            elif name == "mss":
                opts.append(("mss", self.expect_int("mss value", 0, _U16)))
            elif name == "wscale":
                opts.append(("wscale", self.expect_int("window scale shift count", 0, 0xFF)))
            elif name == "TS":
                self.expect_word("val", "after TS")
                val = self.expect_int("TS val", 0, _U32)
                self.expect_word("ecr", "after TS val N")
                ecr = self.expect_int("TS ecr", 0, _U32)
                opts.append(("TS", (val, ecr)))
            elif name == "sack":
                blocks = []
                while self.peek().kind == INT or not blocks:
                    left = self.expect_int("SACK left edge", 0, _U32)
                    self.expect_punct(":", "in SACK block L:R")
                    right = self.expect_int("SACK right edge", 0, _U32)
                    blocks.append((left, right))
                opts.append(("sack", blocks))
            elif name in ("md5", "FO", "FOEXP"):
                nt = self.peek()
                if nt.kind in (WORD, INT):
                    self.next()
                    opts.append((name, str(nt.value) if nt.expanded else nt.text))
                elif name == "md5":
                    raise self.error("expected a hex digest after md5", nt)
                else:
                    opts.append((name, ""))
            else:
                raise self.error(
                    f"unknown TCP option '{name}' (known: mss, wscale, sackOK, nop, eol, TS, sack, md5, FO, FOEXP)", tok
                )
            sep = self.next()
            if sep.is_punct(">"):
                return opts
            if not sep.is_punct(","):
                raise self.error(f"expected ',' or '>' in TCP options, got {sep.describe()}", sep)

    def parse_icmp(self, direction: str, ip_info: Optional[dict]) -> IcmpPacket:
        self.next()  # 'icmp'
        t = self.next()
        if t.kind != WORD:
            raise self.error(f"expected an ICMP type name (e.g. unreachable), got {t.describe()}", t)
        pkt = IcmpPacket(direction, t.value, ip_info=ip_info)
        nt = self.peek()
        if nt.kind == WORD and nt.value not in ("mtu", "id"):
            pkt.icmp_code = self.next().value
        if self.peek().is_word("mtu"):
            self.next()
            pkt.mtu = self.expect_int("ICMP mtu", 0, _U16)
        if self.peek().is_word("id"):
            self.next()
            pkt.echo_id = self.expect_int("ICMP echo id", 0, _U16)
        if self.peek().is_punct("["):
            self.next()
            nt = self.peek()
            if nt.kind == WORD and nt.value in ("udp", "raw"):
                self.next()
                pkt.echoed_protocol = nt.value
                self.expect_punct("(", f"after {nt.value}")
                pkt.echoed_len = self.expect_int(f"{nt.value} payload length", 0, _U16)
                self.expect_punct(")", f"after the {nt.value} payload length")
            else:
                pkt.echoed_protocol = "tcp"
                pkt.echoed_seq, pkt.echoed_end, pkt.echoed_len = self.parse_seq("quoted TCP")
            self.expect_punct("]", "after the quoted packet")
        return pkt

    # -- syscalls ------------------------------------------------------------------------------

    def parse_syscall(self) -> SyscallEvent:
        name = self.next()
        if not self.peek().is_punct("("):
            raise self.error(f"expected '(' after syscall name '{name.value}', got {self.peek().describe()}")
        args = self.parse_call_args(f"arguments of {name.value}()")
        eq = self.next()
        if not eq.is_punct("="):
            raise self.error(f"expected '= RESULT' after {name.value}(...), got {eq.describe()}", eq)
        res = self.next()
        if res.kind != INT:
            raise self.error(f"expected an integer result after '=', got {res.describe()}", res)
        call = SyscallEvent(name.value, args, res.value, result_hex=_is_hex(res))
        if self.peek().kind == WORD:
            call.errno = self.next().value
        if self.peek().is_punct("("):
            pos = self._unpeek_for_raw()
            note = self.lex.read_note(pos + 1)
            self.last_end = note.end
            call.note = note.value
        return call

    def parse_call_args(self, context: str) -> list:
        self.expect_punct("(", f"to start {context}")
        args: list = []
        if self.peek().is_punct(")"):
            self.next()
            return args
        while True:
            args.append(self.parse_expr())
            sep = self.next()
            if sep.is_punct(")"):
                return args
            if not sep.is_punct(","):
                raise self.error(f"expected ',' or ')' in {context}, got {sep.describe()}", sep)

    def parse_expr(self) -> Node:
        return self._or_chain(self.parse_primary())

    def _or_chain(self, first: Node) -> Node:
        items = [first]
        while self.peek().is_punct("|"):
            self.next()
            items.append(self.parse_primary())
        return first if len(items) == 1 else BinOr(items)

    def parse_primary(self) -> Node:
        tok = self.next()
        if tok.kind == ELLIPSIS:
            return EllipsisArg()
        if tok.kind == INT:
            return Int(tok.value, _is_hex(tok))
        if tok.kind == WORD:
            if tok.value == "NULL":
                return Null()
            if self.peek().is_punct("("):
                return Call(tok.value, self._call_args_after_name(tok))
            return Symbol(tok.value)
        if tok.kind == STRING:
            value = tok.value
            while self.peek().kind == STRING:  # "a" "b" concatenation
                value += self.next().value
            if self.peek().kind == ELLIPSIS:
                self.next()
                return String(value, prefix=True)
            return String(value)
        if tok.is_punct("["):
            items: list = []
            if self.peek().is_punct("]"):
                self.next()
                return List(items)
            while True:
                items.append(self.parse_expr())
                sep = self.next()
                if sep.is_punct("]"):
                    return List(items)
                if not sep.is_punct(","):
                    raise self.error(f"expected ',' or ']' in list, got {sep.describe()}", sep)
        if tok.is_punct("{"):
            return self.parse_struct(tok)
        if tok.kind == FLOAT:
            raise self.error(f"floating point numbers are not allowed in syscall arguments ({tok.text})", tok)
        raise self.error(f"expected a syscall argument, got {tok.describe()}", tok)

    def _call_args_after_name(self, name_tok: Token) -> list:
        return self.parse_call_args(f"arguments of {name_tok.value}(...)")

    def parse_struct(self, open_tok: Token) -> Struct:
        st = Struct()
        if self.peek().is_punct("}"):
            self.next()
            return st
        while True:
            self._parse_struct_entry(st)
            sep = self.next()
            if sep.is_punct("}"):
                return st
            if not sep.is_punct(","):
                raise self.error(f"expected ',' or '}}' in struct, got {sep.describe()}", sep)

    def _parse_struct_entry(self, st: Struct) -> None:
        """One entry of {...}: ``name=value``, ``name(arg)=value`` or a positional value."""
        tok = self.peek()
        if tok.kind == WORD and tok.value != "NULL":
            after = self.peek(1)
            if after.is_punct("="):
                self.next()
                self.next()
                self._add_field(st, tok, self.parse_expr(), None)
                return
            if after.is_punct("("):
                self.next()
                args = self._call_args_after_name(tok)
                if not self.peek().is_punct("="):  # a positional call like htons(80)
                    self._add_item(st, tok, self._or_chain(Call(tok.value, args)))
                    return
                self.next()
                if len(args) != 1:
                    raise self.error(f"field '{tok.value}(...)' takes exactly one value in parentheses", tok)
                self._add_field(st, tok, self.parse_expr(), args[0])
                return
        self._add_item(st, tok, self.parse_expr())

    def _add_field(self, st: Struct, tok: Token, value: Node, arg: Optional[Node]) -> None:
        if st.items:
            raise self.error("cannot mix named fields (name=value) and positional values in one {...}", tok)
        if tok.value in st.fields:
            raise self.error(f"duplicate field '{tok.value}'", tok)
        st.fields[tok.value] = value
        if arg is not None:
            st.field_args[tok.value] = arg

    def _add_item(self, st: Struct, tok: Token, value: Node) -> None:
        if st.fields:
            raise self.error("cannot mix named fields (name=value) and positional values in one {...}", tok)
        st.items.append(value)


def _is_hex(tok: Token) -> bool:
    return tok.kind == INT and not tok.expanded and tok.text.lower().lstrip("-").startswith("0x")


# ---------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------


def parse_script(text: str, filename: str = "<string>", defines: Optional[dict] = None) -> Script:
    """Parse script text. ``defines`` maps NAME -> value like ``-D NAME=value``."""
    return _Parser(text, filename, defines).parse()


def parse_file(path: Union[str, Path], defines: Optional[dict] = None) -> Script:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ParseError(f"script is not valid UTF-8: {e}", str(p), 0, 0) from None
    return parse_script(text, str(p), defines)


# ---------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------


def _fmt_secs(usecs: int) -> str:
    s, frac = divmod(usecs, USECS_PER_SEC)
    if frac == 0:
        return str(s)
    return f"{s}.{frac:06d}".rstrip("0")


def format_time(ts: TimeSpec) -> str:
    """``0.1``, ``+0.1``, ``*``, ``+0.3~+0.31``, ``+0...0.2``."""
    if ts.kind == "any":
        return "*"
    plus = "+" if ts.kind == "relative" else ""
    out = plus + _fmt_secs(ts.usecs)
    if ts.end_usecs is not None:
        out += "~" + ("+" if ts.end_kind == "relative" else "") + _fmt_secs(ts.end_usecs)
    if ts.block_end_usecs is not None:
        out += "..." + _fmt_secs(ts.block_end_usecs)
    return out


def format_flags(flags: Union[str, Iterable[str]]) -> str:
    """A flags string as written is returned unchanged; a set of flag chars is
    rendered in packetdrill's order (F S R P . U E W A), '-' when empty."""
    if isinstance(flags, str):
        return flags if flags else "-"
    s = set(flags)
    s.discard("-")
    unknown = s - set(TCP_FLAG_CHARS)
    out = "".join(c for c in TCP_FLAG_CHARS if c in s) + "".join(sorted(unknown))
    return out or "-"


def format_tcp_option(opt: tuple) -> str:
    name, val = opt
    if val is None:
        return name
    if name == "TS":
        return f"TS val {val[0]} ecr {val[1]}"
    if name == "sack":
        return "sack " + " ".join(f"{left}:{right}" for left, right in val)
    if name in ("FO", "FOEXP") and val == "":
        return name
    return f"{name} {val}"


def format_tcp_options(options: Union[None, str, list]) -> str:
    """``<mss 1460,sackOK,...>``, ``<...>`` for 'any', '' for None/[]."""
    if options is None:
        return ""
    if options == "any":
        return "<...>"
    if not options:
        return ""
    return "<" + ",".join(format_tcp_option(o) for o in options) + ">"


def format_tcp_packet(
    direction: str,
    flags: Union[str, Iterable[str]],
    seq: int,
    end: int,
    length: int,
    ack: Optional[int] = None,
    win: Optional[int] = None,
    options: Union[None, str, list] = None,
    *,
    urg: Optional[int] = None,
    ip_info: Optional[dict] = None,
) -> str:
    """Render a TCP packet in script syntax, e.g.
    ``> S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 200,nop,wscale 8>``.
    Used for both expected (parsed) and actual (observed) packets."""
    parts = [direction]
    if ip_info:
        parts.append(_format_ip_info(ip_info))
    parts.append(format_flags(flags))
    parts.append(f"{seq}:{end}({length})")
    if ack is not None:
        parts.append(f"ack {ack}")
    if win is not None:
        parts.append(f"win {win}")
    if urg is not None:
        parts.append(f"urg {urg}")
    opts = format_tcp_options(options)
    if opts:
        parts.append(opts)
    return " ".join(parts)


def _format_ip_info(info: dict) -> str:
    items = []
    for k, v in info.items():
        if k == "ecn":
            items.append(v)
        elif k in ("tos", "flowlabel"):
            items.append(f"{k} {v:#x}")
        else:
            items.append(f"{k} {v}")
    return "[" + ", ".join(items) + "]"


def format_node(node: Node) -> str:
    if isinstance(node, Int):
        if node.hex:
            return f"-{-node.value:#x}" if node.value < 0 else f"{node.value:#x}"
        return str(node.value)
    if isinstance(node, Symbol):
        return node.name
    if isinstance(node, BinOr):
        return "|".join(format_node(n) for n in node.items)
    if isinstance(node, EllipsisArg):
        return "..."
    if isinstance(node, List):
        return "[" + ", ".join(format_node(n) for n in node.items) + "]"
    if isinstance(node, Struct):
        parts = []
        for name, value in node.fields.items():
            if name in node.field_args:
                parts.append(f"{name}({format_node(node.field_args[name])})={format_node(value)}")
            else:
                parts.append(f"{name}={format_node(value)}")
        parts.extend(format_node(n) for n in node.items)
        return "{" + ", ".join(parts) + "}"
    if isinstance(node, String):
        return f'"{node.value}"' + ("..." if node.prefix else "")
    if isinstance(node, Null):
        return "NULL"
    if isinstance(node, Call):
        return f"{node.name}(" + ", ".join(format_node(n) for n in node.args) + ")"
    raise TypeError(f"not a syscall argument node: {node!r}")


def format_action(a: Action) -> str:
    if isinstance(a, PacketEvent):
        out = format_tcp_packet(a.direction, a.flags, a.seq, a.end, a.length, a.ack, a.win, a.options, urg=a.urg, ip_info=a.ip_info)
        if a.ports:
            d, rest = out.split(" ", 1)
            if a.ip_info:
                info, rest = rest.split("] ", 1)
                return f"{d} {info}] {a.ports[0]}>{a.ports[1]} {rest}"
            return f"{d} {a.ports[0]}>{a.ports[1]} {rest}"
        return out
    if isinstance(a, IcmpPacket):
        parts = [a.direction]
        if a.ip_info:
            parts.append(_format_ip_info(a.ip_info))
        parts += ["icmp", a.icmp_type]
        if a.icmp_code is not None:
            parts.append(a.icmp_code)
        if a.mtu is not None:
            parts.append(f"mtu {a.mtu}")
        if a.echo_id is not None:
            parts.append(f"id {a.echo_id}")
        if a.echoed_protocol == "tcp":
            parts.append(f"[{a.echoed_seq}:{a.echoed_end}({a.echoed_len})]")
        elif a.echoed_protocol is not None:
            parts.append(f"[{a.echoed_protocol}({a.echoed_len})]")
        return " ".join(parts)
    if isinstance(a, UdpPacket):
        parts = [a.direction]
        if a.ip_info:
            parts.append(_format_ip_info(a.ip_info))
        parts.append("udp")
        if a.ports:
            parts.append(f"{a.ports[0]}>{a.ports[1]}")
        parts.append(f"({a.length})")
        return " ".join(parts)
    if isinstance(a, SyscallEvent):
        res = format_node(Int(a.result, a.result_hex))
        out = f"{a.name}(" + ", ".join(format_node(n) for n in a.args) + f") = {res}"
        if a.errno:
            out += f" {a.errno}"
        if a.note is not None:
            out += f" ({a.note})"
        return out
    if isinstance(a, CommandEvent):
        return f"`{a.command}`"
    if isinstance(a, CodeEvent):
        return "%{" + a.text + "}%"
    raise TypeError(f"not an action: {a!r}")


def format_event(ev: Event) -> str:
    """Render an event back into script syntax (one statement, comments dropped)."""
    return f"{format_time(ev.time)} {format_action(ev.action)}"
