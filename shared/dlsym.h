/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Optional libraries opened with dlopen() on first use, as kmod and systemd
 * do (kmod shared/util.h, systemd src/shared/dlfcn-util.h): one loader for
 * all of them, and every function pointer typed from the library's own
 * prototype, so the compiler checks each call against the real header.
 *
 *   #include <libkmod.h>
 *   DECLARE_DLSYM(kmod_new);     // static __typeof__(kmod_new) *sym_kmod_new
 *   DECLARE_DLSYM(kmod_unref);
 *   ELF_NOTE_DLOPEN("kmod", "Loading vfio-pci", ELF_NOTE_DLOPEN_PRIORITY_RECOMMENDED, "libkmod.so.2");
 *
 *   static void *kmod_dl;
 *   r = dlsym_many(&kmod_dl, "libkmod.so.2", DLSYM_ARG(kmod_new), DLSYM_ARG(kmod_unref), NULL);
 *   ... sym_kmod_new(NULL, NULL) ...
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

#define DECLARE_DLSYM(symbol) static __typeof__(symbol) *sym_##symbol
#define DLSYM_ARG(symbol) (void **)&sym_##symbol, #symbol

/* Opens FILENAME (RTLD_NOW | RTLD_LOCAL) and resolves each (void **sym,
 * const char *name) pair that follows, up to a NULL. All or nothing: on
 * failure nothing stays open and every sym is NULL. Returns 1 when it
 * opened the library, 0 when *dl was already set (nothing done), -ENOENT
 * when the library cannot be opened, -ELIBBAD when a symbol is missing
 * (dlsym_error() says which). The handle stays open for the process. */
_sentinel_ _must_check_ int dlsym_many(void **dl, const char *filename, ...);

/* The dlerror() text of this thread's last failed dlsym_many(), "" if none. */
const char *dlsym_error(void);

/* FILENAME is in the process already (opened by someone else); it stays
 * as it was. */
bool dlopen_is_loaded(const char *filename);

/* One symbol the library may lack (a newer entry point): NULL if absent. */
void dlsym_optional(void *dl, void **sym, const char *name);
#define DLSYM_OPTIONAL(dl, symbol) dlsym_optional(dl, (void **)&sym_##symbol, #symbol)

/*
 * A weak dependency declared for packagers: a ".note.dlopen" ELF note in the
 * binary (and libvmgpu.so) that opens the library, in the format of
 * https://systemd.io/ELF_DLOPEN_METADATA/ (as systemd and kmod write it).
 * Read it with `readelf -n` or `systemd-analyze dlopen-metadata`.
 */
#define ELF_NOTE_DLOPEN_VENDOR "FDO"
#define ELF_NOTE_DLOPEN_TYPE UINT32_C(0x407c0c0a)
#define ELF_NOTE_DLOPEN_PRIORITY_REQUIRED "required"
#define ELF_NOTE_DLOPEN_PRIORITY_RECOMMENDED "recommended"
#define ELF_NOTE_DLOPEN_PRIORITY_SUGGESTED "suggested"

#define ELF_NOTE_DLOPEN_CONCAT_(a, b) a##b
#define ELF_NOTE_DLOPEN_CONCAT(a, b) ELF_NOTE_DLOPEN_CONCAT_(a, b)

/* ASan pads instrumented globals with redzones, which would break the
 * note section into pieces readelf cannot walk: notes are not instrumented. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ELF_NOTE_NO_ASAN __attribute__((no_sanitize("address")))
#endif
#endif
#if !defined(ELF_NOTE_NO_ASAN) && defined(__SANITIZE_ADDRESS__)
#define ELF_NOTE_NO_ASAN __attribute__((no_sanitize_address))
#endif
#ifndef ELF_NOTE_NO_ASAN
#define ELF_NOTE_NO_ASAN
#endif

#define ELF_NOTE_DLOPEN_(json, variable)                                                          \
	ELF_NOTE_NO_ASAN __attribute__((used, section(".note.dlopen"))) _Alignas(sizeof(uint32_t)) static const struct { \
		struct {                                                                          \
			uint32_t n_namesz, n_descsz, n_type;                                      \
		} nhdr;                                                                           \
		char name[sizeof(ELF_NOTE_DLOPEN_VENDOR)];                                        \
		_Alignas(sizeof(uint32_t)) char dlopen_json[sizeof(json)];                        \
	} variable = {                                                                            \
		.nhdr = {                                                                         \
			.n_namesz = sizeof(ELF_NOTE_DLOPEN_VENDOR),                               \
			.n_descsz = sizeof(json),                                                 \
			.n_type = ELF_NOTE_DLOPEN_TYPE,                                           \
		},                                                                                \
		.name = ELF_NOTE_DLOPEN_VENDOR,                                                   \
		.dlopen_json = json,                                                              \
	}

/* One soname (systemd's takes several; vmgpu needs one per library). */
#define ELF_NOTE_DLOPEN(feature, description, priority, soname)                                    \
	ELF_NOTE_DLOPEN_("[{\"feature\":\"" feature "\",\"description\":\"" description               \
			 "\",\"priority\":\"" priority "\",\"soname\":[\"" soname "\"]}]",             \
			 ELF_NOTE_DLOPEN_CONCAT(elf_note_dlopen_, __COUNTER__))
