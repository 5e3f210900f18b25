#!/usr/bin/env python3
# Capture the query-pci replies test-verify.c replays, from the QEMU on this
# machine (emulated edu devices stand in for vfio-pci ones: the ids and the
# places are what verify reads). usage: capture.py OUTDIR
import json, os, socket, subprocess, sys, tempfile, time

UUID = "6ef2a1b3-5a1c-4f3e-9a51-0f0b1c2d3e4f"
CASES = {
    # GPU + audio as one multifunction slot behind vmgpu-rp0, an mdev on pcie.0
    "qmp-all": ([], [
        "pcie-root-port,id=vmgpu-rp0,bus=pcie.0,chassis=96,slot=0",
        "edu,id=vmgpu-0000-01-00-0,bus=vmgpu-rp0,addr=00.0,multifunction=on",
        "edu,id=vmgpu-0000-01-00-1,bus=vmgpu-rp0,addr=00.1",
        "edu,id=vmgpu-mdev-" + UUID]),
    # the same before the firmware ran (-S): no BAR programmed
    "qmp-paused": (["-S"], None),
    # a function alone at 00.1 of its port: no function 0 there
    "qmp-fn1-alone": ([], [
        "pcie-root-port,id=vmgpu-rp0,bus=pcie.0,chassis=96,slot=0",
        "edu,id=vmgpu-0000-01-00-0,bus=vmgpu-rp0,addr=00.0",
        "pcie-root-port,id=vmgpu-rp1,bus=pcie.0,chassis=97,slot=1",
        "edu,id=vmgpu-0000-02-00-1,bus=vmgpu-rp1,addr=00.1"]),
    # what libvirt gives QEMU: the user aliases are the qdev ids
    "qmp-libvirt": ([], [
        "pcie-root-port,id=ua-vmgpu-rp-0000-01-00,bus=pcie.0,chassis=9,slot=9",
        "edu,id=ua-vmgpu-0000-01-00-0,bus=ua-vmgpu-rp-0000-01-00,addr=00.0,multifunction=on",
        "edu,id=ua-vmgpu-0000-01-00-1,bus=ua-vmgpu-rp-0000-01-00,addr=00.1",
        "edu,id=ua-vmgpu-mdev-" + UUID]),
}
CASES["qmp-paused"] = (["-S"], CASES["qmp-all"][1])


def qmp(path, cmds):
    s = socket.socket(socket.AF_UNIX)
    for _ in range(100):
        try:
            s.connect(path)
            break
        except OSError:
            time.sleep(0.05)
    f = s.makefile("rw")
    f.readline()  # greeting
    out = []
    for c in cmds:
        f.write(json.dumps({"execute": c}) + "\n")
        f.flush()
        while True:
            line = f.readline()
            if '"event"' not in line:
                break
        out.append(line)
    s.close()
    return out


def capture(name, extra, devices, outdir):
    d = tempfile.mkdtemp()
    sock = os.path.join(d, "qmp.sock")
    args = ["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-nodefaults", "-display", "none",
            "-m", "256", "-qmp", "unix:%s,server=on,wait=off" % sock] + extra
    for dev in devices:
        args += ["-device", dev]
    p = subprocess.Popen(args)
    time.sleep(0.5 if "-S" in extra else 6)  # SeaBIOS programs the BARs
    reply = qmp(sock, ["qmp_capabilities", "query-pci"])[1]
    if name == "qmp-all":  # the greeting and an event, as QEMU words them
        g = socket.socket(socket.AF_UNIX)
        g.connect(sock)
        f = g.makefile("rw")
        greeting = f.readline()
        f.write('{"execute": "qmp_capabilities"}\n{"execute": "stop"}\n')
        f.flush()
        lines = [f.readline() for _ in range(3)]
        g.close()
        with open(os.path.join(outdir, "qmp-greeting.json"), "w") as out:
            out.write(greeting)
        with open(os.path.join(outdir, "qmp-event.json"), "w") as out:
            out.write([l for l in lines if '"event"' in l][0])
    p.kill()
    p.wait()
    with open(os.path.join(outdir, name + ".json"), "w") as f:
        f.write(reply)




def qga(sock, outdir):
    """Real guest-agent replies: qemu-ga run on this machine (a Linux
    "guest"), over the socket it listens on."""
    p = subprocess.Popen(["qemu-ga", "-m", "unix-listen", "-p", sock, "-t", os.path.dirname(sock)])
    s = socket.socket(socket.AF_UNIX)
    for _ in range(100):
        try:
            s.connect(sock)
            break
        except OSError:
            time.sleep(0.05)
    f = s.makefile("rwb")

    def ask(name, cmd):
        f.write(json.dumps(cmd).encode() + b"\n")
        f.flush()
        reply = f.readline()
        with open(os.path.join(outdir, name), "wb") as out:
            out.write(reply)
        return json.loads(reply.lstrip(b"\xff"))

    ask("qga-sync.bin", {"execute": "guest-sync-delimited", "arguments": {"id": 4242}})
    ask("qga-osinfo.json", {"execute": "guest-get-osinfo"})
    dev = sorted(os.listdir("/sys/bus/pci/devices"))[0]
    h = ask("qga-open.json", {"execute": "guest-file-open",
                              "arguments": {"path": "/sys/bus/pci/devices/%s/uevent" % dev, "mode": "r"}})["return"]
    ask("qga-read.json", {"execute": "guest-file-read", "arguments": {"handle": h, "count": 4096}})
    ask("qga-close.json", {"execute": "guest-file-close", "arguments": {"handle": h}})
    ask("qga-open-missing.json", {"execute": "guest-file-open",
                                  "arguments": {"path": "/sys/bus/pci/devices/0000:7f:1f.7/uevent", "mode": "r"}})
    ask("qga-devices-linux.json", {"execute": "guest-get-devices"})
    s.close()
    p.kill()
    p.wait()


if len(sys.argv) > 2 and sys.argv[2] == "qga":
    qga(os.path.join(tempfile.mkdtemp(), "qga.sock"), sys.argv[1])
else:
    for name, (extra, devices) in CASES.items():
        capture(name, extra, devices, sys.argv[1])
