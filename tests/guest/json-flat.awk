# json-flat.awk - flatten a JSON document into one "path=value" line per
# scalar, for checks with grep/sed where there is no jq (the test guest has
# only busybox).  POSIX awk; works with busybox awk, mawk and gawk.
#
#   {"host":{"iommu":{"present":true}},"devices":[{"address":"0000:01:00.0",
#    "companions":["0000:01:00.1"],"reasons":[]}]}
# becomes
#   .host.iommu.present=true
#   .devices[0].address="0000:01:00.0"
#   .devices[0].companions[0]="0000:01:00.1"
#   .devices[0].reasons=[]
#
# Strings keep their quotes and escapes as written; empty containers print
# as {} or [].  Exit status 1 (with a message on stderr) when the input is
# not well-formed JSON.

function err(msg) {
    printf "json-flat: %s at character %d\n", msg, i > "/dev/stderr"
    bad = 1
    exit 1
}
# path of the value that comes next at the current depth
function here() {
    if (depth == 0) return ""
    if (type[depth] == "{") return path[depth] "." key[depth]
    return path[depth] "[" idx[depth] "]"
}
function value(v) {
    if (depth == 0 && done) err("trailing data")
    if (depth > 0 && state[depth] != "value") err("missing , or key")
    print here() "=" v
    mark()
}
# a value was completed at the current depth
function mark() {
    if (depth == 0) { done = 1; return }
    filled[depth] = 1
    state[depth] = "after"
}

{ buf = buf $0 "\n" }

END {
    if (bad) exit 1
    n = split(buf, c, "")
    depth = 0; done = 0
    i = 1
    while (i <= n) {
        ch = c[i]
        if (ch == " " || ch == "\t" || ch == "\n" || ch == "\r") { i++; continue }
        if (ch == "\"") {
            s = ""
            j = i + 1
            while (j <= n && c[j] != "\"") {
                if (c[j] == "\\") { s = s c[j]; j++ }
                s = s c[j]; j++
            }
            if (j > n) err("unterminated string")
            i = j + 1
            if (depth > 0 && type[depth] == "{" && state[depth] == "key") {
                key[depth] = s; state[depth] = "colon"; continue
            }
            value("\"" s "\"")
            continue
        }
        if (ch == ":") {
            if (depth == 0 || type[depth] != "{" || state[depth] != "colon") err("unexpected :")
            state[depth] = "value"; i++; continue
        }
        if (ch == ",") {
            if (depth == 0 || state[depth] != "after") err("unexpected ,")
            if (type[depth] == "{") state[depth] = "key"
            else { idx[depth]++; state[depth] = "value" }
            i++; continue
        }
        if (ch == "{" || ch == "[") {
            if (depth == 0 && done) err("trailing data")
            if (depth > 0 && state[depth] != "value") err("missing , or key")
            p = here()
            depth++
            type[depth] = ch; path[depth] = p; filled[depth] = 0; idx[depth] = 0
            state[depth] = (ch == "{") ? "key" : "value"
            i++; continue
        }
        if (ch == "}" || ch == "]") {
            if (depth == 0) err("unbalanced " ch)
            if ((ch == "}") != (type[depth] == "{")) err("mismatched " ch)
            if (filled[depth] && state[depth] != "after") err("trailing comma")
            if (!filled[depth]) { p = path[depth]; e = (ch == "}") ? "{}" : "[]" }
            depth--
            if (e != "") { print p "=" e; e = "" }
            mark()
            i++; continue
        }
        # number, true, false, null
        s = ""
        while (i <= n && c[i] ~ /[-+.0-9a-zA-Z]/) { s = s c[i]; i++ }
        if (s == "") err("unexpected character " ch)
        if (s !~ /^(true|false|null|-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?)$/) err("bad literal " s)
        value(s)
    }
    if (depth != 0) err("unterminated document")
    if (!done) err("empty document")
}
