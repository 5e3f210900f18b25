/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The layout as a Hyper-V Discrete Device Assignment script: the seed's
 * steps in order (Set-VM -AutomaticStopAction TurnOff, write-combining, MMIO
 * from the survey, Disable-PnpDevice, Dismount-VMHostAssignableDevice,
 * Add-VMAssignableDevice), stopping at the first error, and its reverse.
 *
 * Names are data, never code: the VM name is emitted as a single-quoted
 * literal with every quote character PowerShell recognises doubled (' and
 * the typographic U+2018..U+201B), built from ASCII pieces and [char] codes
 * so that the script survives any file encoding; the VM is then found by
 * exact comparison (Get-VM -Name would treat [ ] * ? as wildcards) and
 * passed on as an object.
 */
#include <stdio.h>
#include <string.h>

#include "host.h"

#define MiB (1ULL << 20)

/* Decode one UTF-8 sequence; returns its length, 0 when invalid. */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0 && (s[1] & 0xc0) == 0x80) {
		*cp = (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
		return *cp >= 0x80 ? 2 : 0;
	}
	if ((s[0] & 0xf0) == 0xe0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80) {
		*cp = (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
		return *cp >= 0x800 && (*cp < 0xd800 || *cp > 0xdfff) ? 3 : 0;
	}
	if ((s[0] & 0xf8) == 0xf0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80) {
		*cp = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 | (uint32_t)(s[2] & 0x3f) << 6 |
		      (s[3] & 0x3f);
		return *cp >= 0x10000 && *cp <= 0x10ffff ? 4 : 0;
	}
	return 0;
}

/* Refuse what no Hyper-V VM name can hold: invalid UTF-8 and control
 * characters (a newline would end the statement). */
static int ps_check_name(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;

	if (!name || !*name || strlen(name) > 100)
		return -EINVAL;
	while (*p) {
		uint32_t cp;
		size_t n = utf8_next(p, &cp);
		if (n == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
			return -EINVAL;
		p += n;
	}
	return 0;
}

/* ('abc' + [char]0x00E9 + 'x''y') — ASCII only, quotes doubled. */
static void ps_quote(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	bool open = false, first = true;

	fputc('(', f);
	while (*p) {
		uint32_t cp;
		size_t n = utf8_next(p, &cp);
		if (n == 0)
			break; /* ps_check_name() refused this already */
		if (cp < 0x80) {
			if (!open) {
				fputs(first ? "'" : " + '", f);
				open = true;
			}
			fputc((int)cp, f);
			if (cp == '\'')
				fputc('\'', f);
		} else {
			if (open)
				fputc('\'', f);
			open = false;
			if (cp <= 0xffff)
				fprintf(f, "%s[char]0x%04X", first ? "" : " + ", cp);
			else
				fprintf(f, "%s[char]::ConvertFromUtf32(0x%X)", first ? "" : " + ", cp);
		}
		first = false;
		p += n;
	}
	if (open)
		fputc('\'', f);
	if (first)
		fputs("''", f);
	fputc(')', f);
}

/*
 * Find the function on the Windows host by its IDs (Get-PnpDevice before
 * dismount; Get-VMAssignableDevice once it belongs to the VM), preferring the
 * one at the surveyed location path, and stop if it is not there.
 */
static void ps_find_device(FILE *f, const struct vmgpu_vm_function *fn, size_t i, bool release)
{
	const struct vmgpu_dev *d = fn->dev;
	const char *list = release ? "Get-VMAssignableDevice -VM $VM" : "Get-PnpDevice -PresentOnly";
	const char *idprop = release ? "InstanceID" : "InstanceId";

	fprintf(f, "\n# %s  [%04x:%04x]  location on the surveyed host: %s\n", d->address, d->vendor, d->device,
		d->location_path);
	fprintf(f, "$cand%zu = @(%s | Where-Object { $_.%s -like '*VEN_%04X&DEV_%04X&*' })\n", i, list, idprop,
		d->vendor, d->device);
	fprintf(f, "$dev%zu = $null\n"
		   "$loc%zu = $null\n"
		   "foreach ($d in $cand%zu) {\n", i, i, i);
	if (release)
		fprintf(f, "    $l = $d.LocationPath\n");
	else
		fprintf(f, "    $l = ($d | Get-PnpDeviceProperty -KeyName DEVPKEY_Device_LocationPaths).Data[0]\n");
	fprintf(f, "    if ($cand%zu.Count -eq 1 -or $l -eq '%s') { $loc%zu = $l; $dev%zu = $d; break }\n"
		   "}\n",
		i, d->location_path, i, i);
	fprintf(f, "if (-not $loc%zu) { throw ('vmgpu: no device %04X:%04X at %s%s (found ' + $cand%zu.Count + ')') }\n",
		i, d->vendor, d->device, d->location_path, release ? " assigned to the VM" : " on this host", i);
	fprintf(f, "if ($loc%zu -ne '%s') { Write-Warning ('vmgpu: %04X:%04X is at ' + $loc%zu + ', not at %s as on the surveyed host') }\n",
		i, d->location_path, d->vendor, d->device, i, d->location_path);
}

/* Every script's start: stop at the first error, find the VM by its exact
 * name (as $VM) and make sure it is off. */
static void ps_vm_prologue(FILE *f, const char *vm)
{
	fputs("$ErrorActionPreference = 'Stop'\n"
	      "Set-StrictMode -Version 2\n"
	      "$VMName = ",
	      f);
	ps_quote(f, vm);
	fputs("\n$VM = @(Get-VM | Where-Object { $_.Name -ceq $VMName })\n"
	      "if ($VM.Count -ne 1) { throw ('vmgpu: expected one VM named ''' + $VMName + ''', found ' + $VM.Count) }\n"
	      "$VM = $VM[0]\n"
	      "if ($VM.State -ne 'Off') { throw ('vmgpu: turn the VM off first (state: ' + $VM.State + ')') }\n",
	      f);
}

static void ps_header(FILE *f, const char *vm, bool release, const struct vmgpu_vm_layout *l)
{
	fprintf(f, "# Generated by vmgpu: %s Discrete Device Assignment of", release ? "end" : "start");
	for (size_t i = 0; i < vmgpu_vm_layout_n_functions(l); i++) {
		struct vmgpu_vm_function fn;
		vmgpu_vm_layout_function(l, i, &fn);
		fprintf(f, " %s", fn.dev->address);
	}
	fputs(".\n# Run in an elevated PowerShell on the Hyper-V host; the VM must be off.\n", f);
	if (!release)
		fputs("# With -GuestCredential (Get-Credential) it then starts the VM and checks, through PowerShell\n"
		      "# Direct, that the guest lists every device.\n"
		      "param([System.Management.Automation.PSCredential]$GuestCredential)\n",
		      f);
	ps_vm_prologue(f, vm);
}

/*
 * The seed's last step, "make sure the GPU is listed within the virtual
 * desktop's Device Manager": Hyper-V must list every location path as the
 * VM's (Get-VMAssignableDevice; -VM, since -VMName takes wildcards and a
 * VM named "[a*]" would match others), and with guest credentials the
 * started guest must list each VEN/DEV among its present PnP devices.
 * PowerShell Direct answers only once the guest has booted: retried.
 */
static void ps_verify(FILE *f, const struct vmgpu_vm_layout *l)
{
	size_t n = vmgpu_vm_layout_n_functions(l);

	fputs("\n# Check: Hyper-V lists every device as the VM's.\n"
	      "$assigned = @(Get-VMAssignableDevice -VM $VM | ForEach-Object { $_.LocationPath })\n"
	      "foreach ($l in @(",
	      f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s$loc%zu", i ? ", " : "", i);
	fputs(")) {\n"
	      "    if ($assigned -notcontains $l) { throw ('vmgpu: ' + $l + ' is not assigned to the VM after Add-VMAssignableDevice') }\n"
	      "}\n"
	      "Write-Output ('vmgpu: Hyper-V lists ' + $assigned.Count + ' assigned device(s) on ' + $VMName)\n"
	      "\n# Check in the guest (PowerShell Direct): each device among its present PnP devices.\n"
	      "if ($GuestCredential) {\n"
	      "    Start-VM -VM $VM\n"
	      "    $ids = @(",
	      f);
	for (size_t i = 0; i < n; i++) {
		struct vmgpu_vm_function fn;
		vmgpu_vm_layout_function(l, i, &fn);
		fprintf(f, "%s'VEN_%04X&DEV_%04X'", i ? ", " : "", fn.dev->vendor, fn.dev->device);
	}
	fputs(")\n"
	      "    $seen = $null\n"
	      "    for ($try = 0; $try -lt 60 -and $null -eq $seen; $try++) {\n"
	      "        try {\n"
	      "            $seen = @(Invoke-Command -VMId $VM.VMId -Credential $GuestCredential -ErrorAction Stop -ArgumentList (,$ids) -ScriptBlock {\n"
	      "                param($ids)\n"
	      "                foreach ($id in $ids) {\n"
	      "                    $d = @(Get-PnpDevice -PresentOnly | Where-Object { $_.InstanceId -like ('PCI\\' + $id + '&*') })\n"
	      "                    [pscustomobject]@{ Id = $id; Count = $d.Count; Status = (@($d | ForEach-Object { [string]$_.Status }) -join ',') }\n"
	      "                }\n"
	      "            })\n"
	      "        } catch { Start-Sleep -Seconds 5 }\n"
	      "    }\n"
	      "    if ($null -eq $seen) { throw 'vmgpu: PowerShell Direct did not answer within 5 minutes' }\n"
	      "    foreach ($s in $seen) {\n"
	      "        if ($s.Count -lt 1) { throw ('vmgpu: the guest does not list ' + $s.Id) }\n"
	      "        Write-Output ('vmgpu: the guest lists ' + $s.Id + ' (' + $s.Status + ')')\n"
	      "    }\n"
	      "}\n",
	      f);
}

VMGPU_EXPORT int vmgpu_render_powershell(const struct vmgpu_vm_layout *l, const char *vm, bool release, char **ret)
{
	assert_return(l, -EINVAL);
	assert_return(ret, -EINVAL);

	const struct vmgpu_mmio *m = vmgpu_vm_layout_mmio(l);
	size_t n = vmgpu_vm_layout_n_functions(l);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (ps_check_name(vm) < 0)
		return -EINVAL;
	if (!(f = open_memstream(&buf, &len)))
		return -ENOMEM;
	ps_header(f, vm, release, l);
	if (!release) {
		/* DDA forbids saving the VM state: the stop action must be Turn Off. */
		fprintf(f, "Set-VM -VM $VM -AutomaticStopAction TurnOff\n"
			   "Set-VM -VM $VM -GuestControlledCacheTypes $true\n"
			   "Set-VM -VM $VM -LowMemoryMappedIoSpace %lluMB\n"
			   "Set-VM -VM $VM -HighMemoryMappedIoSpace %lluMB\n",
			(unsigned long long)((m->hyperv_low + MiB - 1) / MiB),
			(unsigned long long)((m->hyperv_high + MiB - 1) / MiB));
	}
	for (size_t i = 0; i < n; i++) {
		struct vmgpu_vm_function fn;
		vmgpu_vm_layout_function(l, i, &fn);
		ps_find_device(f, &fn, i, release);
		if (!release)
			fprintf(f, "Disable-PnpDevice -InstanceId $dev%zu.InstanceId -Confirm:$false\n"
				   "Dismount-VMHostAssignableDevice -Force -LocationPath $loc%zu\n"
				   "Add-VMAssignableDevice -VM $VM -LocationPath $loc%zu\n",
				i, i, i);
		else
			fprintf(f, "Remove-VMAssignableDevice -VM $VM -LocationPath $loc%zu\n"
				   "Mount-VMHostAssignableDevice -LocationPath $loc%zu\n"
				   "Get-PnpDevice | Where-Object { $_.InstanceId -like 'PCI\\VEN_%04X&DEV_%04X&*' -and "
				   "($_ | Get-PnpDeviceProperty -KeyName DEVPKEY_Device_LocationPaths).Data[0] -eq $loc%zu } |\n"
				   "    ForEach-Object { Enable-PnpDevice -InstanceId $_.InstanceId -Confirm:$false }\n",
				i, i, fn.dev->vendor, fn.dev->device, i);
	}
	if (!release)
		ps_verify(f, l);
	fprintf(f, "\nWrite-Output ('vmgpu: done: ' + $VMName)\n");
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*ret = buf;
	return 0;
}

/* ---- GPU paravirtualization (GPU-PV), the Easy-GPU-PV way ---- */

/* Share of a driver-defined range: VRAM, decode and compute go to
 * 1,000,000,000, encode to 2^64-1 (what the drivers report). Min, max and
 * optimal all get the share, as Easy-GPU-PV sets them. */
static void ps_partition_values(FILE *f, unsigned share)
{
	static const char *const what[] = { "VRAM", "Decode", "Compute" };
	unsigned long long units = 1000000000ULL / 100 * share;
	unsigned long long enc = UINT64_MAX / 100 * share;

	fprintf(f, "Set-VMGpuPartitionAdapter -VM $VM `\n");
	for (size_t i = 0; i < 3; i++)
		fprintf(f, "    -MinPartition%s %llu -MaxPartition%s %llu -OptimalPartition%s %llu `\n", what[i], units, what[i],
			units, what[i], units);
	fprintf(f, "    -MinPartitionEncode %llu -MaxPartitionEncode %llu -OptimalPartitionEncode %llu\n", enc, enc, enc);
}

/* The guest runs the host's driver: its files go into the VM's disk, the
 * DriverStore part under Windows\System32\HostDriverStore. */
static const char gpupv_driver_copy[] =
	"\n# The guest uses the host's driver: copy its files into the VM's disk\n"
	"# (DriverStore -> Windows\\System32\\HostDriverStore, the rest as on the host).\n"
	"$vhd = @(Get-VMHardDiskDrive -VM $VM)[0].Path\n"
	"$drv = @(Get-CimInstance -ClassName Win32_PnPSignedDriver | Where-Object { $_.DeviceID -like $GpuPattern })[0]\n"
	"if (-not $drv) { throw 'vmgpu: no driver found for the GPU on this host' }\n"
	"Mount-VHD -Path $vhd\n"
	"try {\n"
	"    $vol = @(Get-VHD -Path $vhd | Get-Disk | Get-Partition | Get-Volume |\n"
	"        Where-Object { $_.DriveLetter -and (Test-Path -LiteralPath ([string]$_.DriveLetter + ':\\Windows\\System32')) })[0]\n"
	"    if (-not $vol) { throw 'vmgpu: no Windows installation on the first disk of the VM' }\n"
	"    $root = [string]$vol.DriveLetter + ':\\'\n"
	"    $id = $drv.DeviceID.Replace('\\', '\\\\')\n"
	"    $files = Get-CimInstance -ClassName Win32_PnPSignedDriverCIMDataFile | Where-Object { $_.Antecedent -like ('*' + $id + '*') }\n"
	"    foreach ($f in $files) {\n"
	"        $path = $f.Dependent.Name\n"
	"        if ($path -like 'C:\\Windows\\System32\\DriverStore\\*') {\n"
	"            $dest = $root + 'Windows\\System32\\HostDriverStore' + $path.Substring('C:\\Windows\\System32\\DriverStore'.Length)\n"
	"        } else {\n"
	"            $dest = $root + $path.Substring(3)\n"
	"        }\n"
	"        New-Item -ItemType Directory -Force -Path (Split-Path -Parent $dest) | Out-Null\n"
	"        Copy-Item -LiteralPath $path -Destination $dest -Force\n"
	"    }\n"
	"} finally {\n"
	"    Dismount-VHD -Path $vhd\n"
	"}\n";

VMGPU_EXPORT int vmgpu_render_gpupv(struct vmgpu_dev *dev, const char *vm, unsigned share, char **ret)
{
	assert_return(dev, -EINVAL);
	assert_return(ret, -EINVAL);

	const char *name = vmgpu_dev_str(dev, VMGPU_STR_DEVICE_NAME);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (ps_check_name(vm) < 0 || share == 0 || share > 100 || !vmgpu_dev_is_display(dev))
		return -EINVAL;
	if (!(f = open_memstream(&buf, &len)))
		return -ENOMEM;
	fprintf(f, "# Generated by vmgpu: GPU paravirtualization (GPU-PV) on %04x:%04x %s, %u%% share.\n"
		   "# WARNING: GPU-PV partition values are not enforced on consumer GPUs: every VM\n"
		   "# may use the whole GPU. Client Windows 10 20H1+/11 or Windows Server host; the VM\n"
		   "# must be off; its guest driver comes from the host (copied below).\n",
		dev->vendor, dev->device, name ? name : "", share);
	ps_vm_prologue(f, vm);
	fprintf(f, "$GpuPattern = 'PCI\\VEN_%04X&DEV_%04X*'\n"
		   "$gpu = @(Get-VMHostPartitionableGpu | Where-Object { $_.Name -like '*VEN_%04X&DEV_%04X*' })\n"
		   "if ($gpu.Count -lt 1) { throw 'vmgpu: GPU %04X:%04X is not partitionable here (GPU-PV needs a WDDM 2.5+ driver)' }\n"
		   "Set-VM -VM $VM -CheckpointType Disabled\n"
		   "Set-VM -VM $VM -StaticMemory\n"
		   "Set-VM -VM $VM -AutomaticStopAction TurnOff\n"
		   "Set-VM -VM $VM -GuestControlledCacheTypes $true -LowMemoryMappedIoSpace 1GB -HighMemoryMappedIoSpace 32GB\n"
		   "if (@(Get-VMGpuPartitionAdapter -VM $VM).Count -eq 0) {\n"
		   "    Add-VMGpuPartitionAdapter -VM $VM -InstancePath $gpu[0].Name\n"
		   "}\n",
		dev->vendor, dev->device, dev->vendor, dev->device, dev->vendor, dev->device);
	ps_partition_values(f, share);
	fputs(gpupv_driver_copy, f);
	fprintf(f, "\nWrite-Output ('vmgpu: GPU-PV ready: ' + $VMName)\n");
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*ret = buf;
	return 0;
}
