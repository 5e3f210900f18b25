#!/usr/bin/env python3
"""Check a generated PowerShell script's VM name the way PowerShell reads it.

The script must assign $VMName from single-quoted literals ('' is one quote;
PowerShell also treats the typographic quotes U+2018..U+201B as quotes, so
they must never appear raw) and [char] codes, joined by +; nothing else.
Exit 0 when the decoded name equals the expected one and every other line
carries no trace of the raw name outside such a literal.
"""
import re
import sys

QUOTES = "'\u2018\u2019\u201a\u201b"


def decode(expr):
    out, i = [], 0
    expr = expr.strip()
    if not (expr.startswith("(") and expr.endswith(")")):
        raise ValueError("not parenthesised")
    expr = expr[1:-1].strip()
    while i < len(expr):
        if expr[i] == "'":
            j, s = i + 1, []
            while True:
                if j >= len(expr):
                    raise ValueError("unterminated literal")
                c = expr[j]
                if c in QUOTES:
                    if j + 1 < len(expr) and expr[j + 1] in QUOTES:
                        s.append(c)
                        j += 2
                        continue
                    break
                if ord(c) > 127:
                    raise ValueError("non-ASCII inside a literal")
                s.append(c)
                j += 1
            out.append("".join(s))
            i = j + 1
        else:
            m = re.match(r"\[char\]0x([0-9A-F]{4})|\[char\]::ConvertFromUtf32\(0x([0-9A-F]+)\)", expr[i:])
            if not m:
                raise ValueError("unexpected token at %r" % expr[i:i + 20])
            out.append(chr(int(m.group(1) or m.group(2), 16)))
            i += m.end()
        rest = expr[i:].lstrip()
        if rest.startswith("+"):
            i = len(expr) - len(rest) + 1
            while i < len(expr) and expr[i] == " ":
                i += 1
        elif rest:
            raise ValueError("garbage after a piece: %r" % rest[:20])
        else:
            break
    return "".join(out)


def main():
    path, want = sys.argv[1], sys.argv[2]
    lines = open(path, encoding="ascii").read().splitlines()  # ASCII only, any encoding reads it
    assign = [l for l in lines if l.startswith("$VMName = ")]
    if len(assign) != 1:
        sys.exit("expected one $VMName assignment")
    got = decode(assign[0][len("$VMName = "):])
    if got != want:
        sys.exit("decoded %r, expected %r" % (got, want))
    # The name is used only through $VMName / $VM: never pasted elsewhere.
    for l in lines:
        if l is not assign[0] and len(want) > 3 and want in l:
            sys.exit("raw name appears outside the literal: " + l)


if __name__ == "__main__":
    main()
