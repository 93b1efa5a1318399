"""packetdrill script support for kstack (parser; the interpreter lives elsewhere)."""

from .parser import ParseError, Script, format_event, format_tcp_packet, parse_file, parse_script

__all__ = ["ParseError", "Script", "format_event", "format_tcp_packet", "parse_file", "parse_script"]
