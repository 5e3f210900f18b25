/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What QEMU's monitor and a guest agent answer (vmgpu verify): query-pci,
 * the agent's replies, a guest's uevent, vmgpu's ids; and the verdicts over
 * a monitor and an agent that answer every command with the input. Strict,
 * bounded, no crash. */
#include <stdlib.h>
#include <string.h>

#include "verify.h"
#include "host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int echo(void *userdata, const char *cmd, char **ret_reply, char **ret_error)
{
	*ret_reply = strdup(userdata);
	return *ret_reply ? 0 : -ENOMEM;
}

static void parsers(const char *s)
{
	struct qmp_pci p;
	struct guest_uevent u;
	struct guest_windev *w = NULL;
	char *a = NULL, *b = NULL, key[40];
	size_t n = 0;
	int64_t i;
	bool eof;

	if (qmp_parse_query_pci(s, &p, &a) == 0)
		qmp_pci_done(&p);
	free(a);
	a = NULL;
	if (qga_parse_osinfo(s, &a, &b) == 0) {
		free(a);
		free(b);
	}
	(void)qga_parse_int(s, &i);
	if (qga_parse_file_read(s, &a, &n, &eof) == 0) {
		if (strlen(a) > n)
			abort();
		free(a);
	}
	(void)parse_pci_uevent(s, &u);
	if (qga_parse_devices(s, &w, &n) == 0)
		guest_windevs_free(w, n);
	(void)vmgpu_id_parse(s, key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmgpu_verify *v = NULL;
	char *s, *err = NULL;

	if (size > 65536)
		return 0;
	s = strndup((const char *)data, size);
	if (!s)
		return 0;
	parsers(s);
	struct verify_io io = { .userdata = s, .qmp = echo, .agent = echo };
	if (verify_run(NULL, &io, NULL, 0, &v, &err) == 0) {
		for (size_t i = 0; i < vmgpu_verify_n_devices(v); i++) {
			struct vmgpu_verify_device d;
			vmgpu_verify_device(v, i, &d);
			if (!d.why || strchr(d.why, '\n'))
				abort();
		}
	} else if (!err || strchr(err, '\n')) {
		abort();
	}
	vmgpu_verify_unref(v);
	free(err);
	free(s);
	return 0;
}
