/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* A streaming JSON writer (RFC 8259). It tracks separators and nesting so
 * that callers only say what comes next; strings are escaped, control
 * characters as \uXXXX. Not thread-safe; one writer per FILE. */
struct json_writer;

struct json_writer *json_new(FILE *f, bool pretty);
/* Ends the document with a newline. Returns 0, or -EIO when the stream
 * failed or nesting was unbalanced. */
int json_free(struct json_writer *w);

void json_object_begin(struct json_writer *w);
void json_object_end(struct json_writer *w);
void json_array_begin(struct json_writer *w);
void json_array_end(struct json_writer *w);
/* Name of the next member inside an object. */
void json_key(struct json_writer *w, const char *key);

void json_string(struct json_writer *w, const char *s); /* NULL writes null */
void json_int(struct json_writer *w, int64_t v);
void json_uint(struct json_writer *w, uint64_t v);
void json_bool(struct json_writer *w, bool v);
void json_null(struct json_writer *w);
/* -1 unknown (null), 0 false, 1 true. */
void json_tristate(struct json_writer *w, int v);

/* Key + value in one call, for the common case. */
void json_kv_string(struct json_writer *w, const char *key, const char *s);
void json_kv_int(struct json_writer *w, const char *key, int64_t v);
void json_kv_uint(struct json_writer *w, const char *key, uint64_t v);
void json_kv_bool(struct json_writer *w, const char *key, bool v);
void json_kv_tristate(struct json_writer *w, const char *key, int v);
void json_kv_null(struct json_writer *w, const char *key);
