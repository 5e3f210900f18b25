/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* A streaming JSON writer (RFC 8259). It tracks separators and nesting so
 * that callers only say what comes next; strings are escaped, control
 * characters as \uXXXX. Not thread-safe; one writer per FILE. */
struct json_writer;

struct json_writer *jsonw_new(FILE *f, bool pretty);
/* Ends the document with a newline. Returns 0, or -EIO when the stream
 * failed or nesting was unbalanced. */
int jsonw_free(struct json_writer *w);

void jsonw_object_begin(struct json_writer *w);
void jsonw_object_end(struct json_writer *w);
void jsonw_array_begin(struct json_writer *w);
void jsonw_array_end(struct json_writer *w);
/* Name of the next member inside an object. */
void jsonw_key(struct json_writer *w, const char *key);

void jsonw_string(struct json_writer *w, const char *s); /* NULL writes null */
void jsonw_int(struct json_writer *w, int64_t v);
void jsonw_uint(struct json_writer *w, uint64_t v);
void jsonw_bool(struct json_writer *w, bool v);
void jsonw_null(struct json_writer *w);
/* -1 unknown (null), 0 false, 1 true. */
void jsonw_tristate(struct json_writer *w, int v);

/* Key + value in one call, for the common case. */
void jsonw_kv_string(struct json_writer *w, const char *key, const char *s);
void jsonw_kv_int(struct json_writer *w, const char *key, int64_t v);
void jsonw_kv_uint(struct json_writer *w, const char *key, uint64_t v);
void jsonw_kv_bool(struct json_writer *w, const char *key, bool v);
void jsonw_kv_tristate(struct json_writer *w, const char *key, int v);
void jsonw_kv_null(struct json_writer *w, const char *key);
