"""Student-controlled text made safe to show: control characters written as escapes.

Prints, exception messages, file names and metadata come from students. Shown raw,
ESC/OSC sequences could clear a terminal, set its clipboard, move the cursor to
overwrite the real score line with a fake one, and ``\\r`` could hide a line. Every
reporter passes such text through ``escape_control`` before a terminal, feedback.md or
results.json shows it: newlines and tabs stay, every other control character (C0, DEL,
C1) and the invisible bidirectional-override characters become visible escapes
(``\\x1b``, ``\\r``, ``\\u202e``).
"""
_KEEP = {"\n", "\t"}
_NAMED = {"\r": "\\r", "\b": "\\b", "\f": "\\f", "\v": "\\v", "\0": "\\0"}
_BIDI = [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x2028,
         0x2029]
_TABLE = {c: _NAMED.get(chr(c), f"\\x{c:02x}") for c in [*range(0x20), *range(0x7F, 0xA0)]
          if chr(c) not in _KEEP}
_TABLE.update({c: f"\\u{c:04x}" for c in _BIDI})


def escape_control(text):
    """``text`` with control characters (all but newline and tab) shown as escapes."""
    return str(text).translate(_TABLE)
