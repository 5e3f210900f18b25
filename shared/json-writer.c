/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "json-writer.h"

#define JSON_MAX_DEPTH 64

struct json_writer {
	FILE *f;
	bool pretty;
	bool after_key;           /* a key was written; the value follows it */
	unsigned depth;
	bool nonempty[JSON_MAX_DEPTH]; /* per level: a member was written */
	bool broken;              /* nesting error seen */
};

struct json_writer *jsonw_new(FILE *f, bool pretty)
{
	struct json_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->f = f;
	w->pretty = pretty;
	return w;
}

int jsonw_free(struct json_writer *w)
{
	int r = 0;

	if (!w)
		return 0;
	if (w->depth != 0 || w->broken)
		r = -EIO;
	fputc('\n', w->f); /* one document per line, or the pretty one's end */
	if (ferror(w->f))
		r = -EIO;
	free(w);
	return r;
}

static void newline_indent(struct json_writer *w)
{
	if (!w->pretty)
		return;
	fputc('\n', w->f);
	for (unsigned i = 0; i < w->depth; i++)
		fputs("  ", w->f);
}

/* Separator before a new value or key at the current level. */
static void begin_value(struct json_writer *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth > 0) {
		if (w->nonempty[w->depth - 1])
			fputc(',', w->f);
		w->nonempty[w->depth - 1] = true;
		newline_indent(w);
	}
}

static void open_level(struct json_writer *w, char c)
{
	begin_value(w);
	fputc(c, w->f);
	if (w->depth >= JSON_MAX_DEPTH) {
		w->broken = true;
		return;
	}
	w->nonempty[w->depth++] = false;
}

static void close_level(struct json_writer *w, char c)
{
	if (w->depth == 0) {
		w->broken = true;
		return;
	}
	bool had_members = w->nonempty[--w->depth];
	if (had_members)
		newline_indent(w);
	fputc(c, w->f);
}

void jsonw_object_begin(struct json_writer *w) { open_level(w, '{'); }
void jsonw_object_end(struct json_writer *w) { close_level(w, '}'); }
void jsonw_array_begin(struct json_writer *w) { open_level(w, '['); }
void jsonw_array_end(struct json_writer *w) { close_level(w, ']'); }

static void put_escaped(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		case '\b': fputs("\\b", f); break;
		case '\f': fputs("\\f", f); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

void jsonw_key(struct json_writer *w, const char *key)
{
	begin_value(w);
	put_escaped(w->f, key);
	fputs(w->pretty ? ": " : ":", w->f);
	w->after_key = true;
}

void jsonw_string(struct json_writer *w, const char *s)
{
	if (!s) {
		jsonw_null(w);
		return;
	}
	begin_value(w);
	put_escaped(w->f, s);
}

void jsonw_int(struct json_writer *w, int64_t v)
{
	begin_value(w);
	fprintf(w->f, "%" PRId64, v);
}

void jsonw_uint(struct json_writer *w, uint64_t v)
{
	begin_value(w);
	fprintf(w->f, "%" PRIu64, v);
}

void jsonw_bool(struct json_writer *w, bool v)
{
	begin_value(w);
	fputs(v ? "true" : "false", w->f);
}

void jsonw_null(struct json_writer *w)
{
	begin_value(w);
	fputs("null", w->f);
}

void jsonw_tristate(struct json_writer *w, int v)
{
	if (v < 0)
		jsonw_null(w);
	else
		jsonw_bool(w, v);
}

void jsonw_kv_string(struct json_writer *w, const char *k, const char *s) { jsonw_key(w, k); jsonw_string(w, s); }
void jsonw_kv_int(struct json_writer *w, const char *k, int64_t v) { jsonw_key(w, k); jsonw_int(w, v); }
void jsonw_kv_uint(struct json_writer *w, const char *k, uint64_t v) { jsonw_key(w, k); jsonw_uint(w, v); }
void jsonw_kv_bool(struct json_writer *w, const char *k, bool v) { jsonw_key(w, k); jsonw_bool(w, v); }
void jsonw_kv_tristate(struct json_writer *w, const char *k, int v) { jsonw_key(w, k); jsonw_tristate(w, v); }
void jsonw_kv_null(struct json_writer *w, const char *k) { jsonw_key(w, k); jsonw_null(w); }
