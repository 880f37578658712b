"""HPACK for the gRPC probe (RFC 7541, https://www.rfc-editor.org/rfc/rfc7541, read 2026-12-05): requests use literal
fields without indexing and without Huffman coding (6.2.2), which every decoder accepts; responses are decoded whole:
integers (5.1), strings and Huffman (5.2, Appendix B), the static table (Appendix A) and the dynamic table (4)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .protocols import ProbeError

# RFC 7541 Appendix A: the static table, indexes 1-61.
STATIC_TABLE: tuple[tuple[bytes, bytes], ...] = tuple(
    (name.encode(), value.encode())
    for name, value in (
        (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
        (":scheme", "http"), (":scheme", "https"), (":status", "200"), (":status", "204"), (":status", "206"),
        (":status", "304"), (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
        ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""), ("accept", ""),
        ("access-control-allow-origin", ""), ("age", ""), ("allow", ""), ("authorization", ""),
        ("cache-control", ""), ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""),
        ("content-length", ""), ("content-location", ""), ("content-range", ""), ("content-type", ""),
        ("cookie", ""), ("date", ""), ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""),
        ("if-match", ""), ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""),
        ("if-unmodified-since", ""), ("last-modified", ""), ("link", ""), ("location", ""), ("max-forwards", ""),
        ("proxy-authenticate", ""), ("proxy-authorization", ""), ("range", ""), ("referer", ""), ("refresh", ""),
        ("retry-after", ""), ("server", ""), ("set-cookie", ""), ("strict-transport-security", ""),
        ("transfer-encoding", ""), ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
    )
)  # fmt: skip


# RFC 7541 Appendix B: the code length of each symbol 0-255 and EOS (256). The code is canonical (within a length,
# codes ascend with the symbol; each length starts where the shorter one ended, shifted), so the lengths alone
# give every code (_huffman_codes); tests/lambda/test_smoke_protocols.py checks codes and RFC 7541 C.4 examples.
HUFFMAN_LENGTHS = (
    [13, 23] + [28] * 7 + [24, 30, 28, 28, 30] + [28] * 8 + [30] + [28] * 9  # 0-31
    + [6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5] + [6] * 7  # ' ' - '9'
    + [7, 8, 15, 6, 12, 10, 13, 6] + [7] * 22 + [8, 7, 8, 13, 19, 13, 14, 6, 15]  # ':' - '`'
    + [5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6] + [7] * 5 + [15, 11, 14, 13, 28]  # 'a' - 127
    + [20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23]  # 128-151
    + [23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23]  # 152-175
    + [21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25]  # 176-199
    + [26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27]  # 200-223
    + [20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27]  # 224-247
    + [27, 28, 27, 27, 27, 27, 27, 26, 30]  # 248-255, EOS
)  # fmt: skip


EOS = 256


def _huffman_codes(lengths: Sequence[int]) -> dict[tuple[int, int], int]:
    """(length, code) -> symbol for a canonical Huffman code given by its code lengths."""
    codes: dict[tuple[int, int], int] = {}
    code = previous = 0
    for length, symbol in sorted((length, symbol) for symbol, length in enumerate(lengths)):
        code <<= length - previous
        codes[(length, code)] = symbol
        code, previous = code + 1, length
    return codes


HUFFMAN_CODES = _huffman_codes(HUFFMAN_LENGTHS)


def huffman_decode(data: bytes) -> bytes:
    """RFC 7541 5.2: padding is at most 7 bits, all ones (the EOS code's start); EOS itself is an error."""
    out = bytearray()
    code = length = 0
    for byte in data:
        for shift in range(7, -1, -1):
            code, length = (code << 1) | ((byte >> shift) & 1), length + 1
            symbol = HUFFMAN_CODES.get((length, code))
            if symbol is not None:
                if symbol == EOS:
                    raise ProbeError("HPACK: EOS inside a Huffman string", retryable=False)
                out.append(symbol)
                code = length = 0
            elif length > 30:
                raise ProbeError("HPACK: invalid Huffman code", retryable=False)
    if length > 7 or code != (1 << length) - 1:
        raise ProbeError("HPACK: invalid Huffman padding", retryable=False)
    return bytes(out)


def _integer(block: bytes, pos: int, prefix: int) -> tuple[int, int]:
    """RFC 7541 5.1: an integer with an N-bit prefix starting at block[pos]; returns (value, next position)."""
    mask = (1 << prefix) - 1
    value = block[pos] & mask
    pos += 1
    if value < mask:
        return value, pos
    shift = 0
    while True:
        if pos >= len(block) or shift > 28:
            raise ProbeError("HPACK: truncated or oversized integer", retryable=False)
        byte = block[pos]
        value += (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            return value, pos


def _encode_integer(value: int, prefix: int, first: int = 0) -> bytes:
    mask = (1 << prefix) - 1
    if value < mask:
        return bytes([first | value])
    out = bytearray([first | mask])
    value -= mask
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes([*out, value])


def encode_headers(headers: Sequence[tuple[str, str]]) -> bytes:
    """RFC 7541 6.2.2: each field a literal without indexing, with a literal name; strings raw (H bit 0)."""
    out = bytearray()
    for name, value in headers:
        out.append(0x00)
        for text in (name.encode(), value.encode()):
            out += _encode_integer(len(text), 7) + text
    return bytes(out)


@dataclass
class HpackDecoder:
    """One connection's decoding context: the dynamic table persists across header blocks (RFC 7541 2.2)."""

    max_size: int = 4096  # SETTINGS_HEADER_TABLE_SIZE's default; we never announce another
    table: list[tuple[bytes, bytes]] = field(default_factory=list)  # newest first

    def decode(self, block: bytes) -> list[tuple[str, str]]:
        fields: list[tuple[str, str]] = []
        pos = 0
        while pos < len(block):
            byte = block[pos]
            if byte & 0x80:  # 6.1 indexed field
                index, pos = _integer(block, pos, 7)
                name, value = self._entry(index)
            elif byte & 0x20 and not byte & 0x40:  # 6.3 dynamic table size update
                size, pos = _integer(block, pos, 5)
                if size > 4096:
                    raise ProbeError(f"HPACK: table size {size} above the 4096 allowed", retryable=False)
                self.max_size = size
                self._evict(0)
                continue
            else:  # 6.2.1 incremental indexing (01), 6.2.2 without / 6.2.3 never indexed (000x)
                indexing = bool(byte & 0x40)
                index, pos = _integer(block, pos, 6 if indexing else 4)
                if index:
                    name = self._entry(index)[0]
                else:
                    name, pos = self._string(block, pos)
                value, pos = self._string(block, pos)
                if indexing:
                    self._evict(len(name) + len(value) + 32)
                    if len(name) + len(value) + 32 <= self.max_size:
                        self.table.insert(0, (name, value))
            fields.append((name.decode("latin-1"), value.decode("latin-1")))
        return fields

    def _entry(self, index: int) -> tuple[bytes, bytes]:
        if 1 <= index <= len(STATIC_TABLE):
            return STATIC_TABLE[index - 1]
        if 0 < index - len(STATIC_TABLE) <= len(self.table):
            return self.table[index - len(STATIC_TABLE) - 1]
        raise ProbeError(f"HPACK: index {index} is in neither table", retryable=False)

    def _string(self, block: bytes, pos: int) -> tuple[bytes, int]:
        if pos >= len(block):
            raise ProbeError("HPACK: truncated header block", retryable=False)
        huffman = bool(block[pos] & 0x80)
        length, pos = _integer(block, pos, 7)
        if pos + length > len(block):
            raise ProbeError("HPACK: truncated string", retryable=False)
        raw = block[pos : pos + length]
        return (huffman_decode(raw) if huffman else raw), pos + length

    def _evict(self, room: int) -> None:
        size = sum(len(n) + len(v) + 32 for n, v in self.table)
        while self.table and size + room > self.max_size:
            name, value = self.table.pop()
            size -= len(name) + len(value) + 32
