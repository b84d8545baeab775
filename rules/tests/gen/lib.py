import json, os

OUT = '/work/main/rules/tests'
HOST = 'web-01'
EPOCH = 1767323045  # 2026-01-02T03:04:05Z


def fmt_ts(ns):
    import datetime
    s, frac = divmod(ns, 10**9)
    d = datetime.datetime.fromtimestamp(s, datetime.timezone.utc)
    return d.strftime('%Y-%m-%dT%H:%M:%S') + '.%09dZ' % frac


class Clock:
    def __init__(self):
        self.ns = EPOCH * 10**9 + 117_000_000

    def tick(self, ms=137):
        self.ns += int(ms * 1_000_000)
        return self.ns


class P:
    """A process: pid, entity (pid-start_ns), exe, argv, parent."""

    def __init__(self, pid, exe, args=None, name=None, parent=None, uid=0,
                 gid=None, start=None):
        self.pid = pid
        self.exe = exe
        self.args = args if args is not None else [exe.rsplit('/', 1)[-1]]
        self.name = name or exe.rsplit('/', 1)[-1]
        self.parent = parent
        self.uid = uid
        self.gid = uid if gid is None else gid
        # boot-time ns of the task start: unique per pid in these fixtures
        self.start = start or (3_600_000_000_000 + pid * 1_000_037)

    @property
    def entity(self):
        return '%d-%d' % (self.pid, self.start)

    def child(self, pid, exe, args=None, name=None, uid=None):
        return P(pid, exe, args, name, self, self.uid if uid is None else uid)

    def become(self, exe, args, name=None):
        """execve in place: same task, same entity id."""
        q = P(self.pid, exe, args, name, self.parent, self.uid, self.gid,
              self.start)
        return q


def proc_obj(p):
    o = {'pid': p.pid, 'entity_id': p.entity, 'name': p.name,
         'executable': p.exe, 'args': p.args, 'args_count': len(p.args)}
    if p.parent:
        o['parent'] = {'pid': p.parent.pid, 'entity_id': p.parent.entity,
                       'name': p.parent.name, 'executable': p.parent.exe}
    return o


def base(clk, cat, act, ms):
    return {'@timestamp': fmt_ts(clk.tick(ms)),
            'event': {'category': cat, 'action': act},
            'host': {'name': HOST}}


def exec_(clk, p, ms=137):
    e = base(clk, 'process', 'exec', ms)
    e['process'] = proc_obj(p)
    e['user'] = {'id': p.uid}
    e['group'] = {'id': p.gid}
    return e


def exit_(clk, p, code=0, ms=137):
    e = exec_(clk, p, ms)
    e['event']['action'] = 'exit'
    e['process']['exit_code'] = code
    return e


def file_(clk, p, action, path, target=None, ms=137):
    e = base(clk, 'file', action, ms)
    name = path.rsplit('/', 1)[-1]
    e['file'] = {'path': path, 'name': name}
    if '.' in name[1:] and not name.endswith('.'):
        e['file']['extension'] = name.rsplit('.', 1)[-1]
    if target:
        e['file']['target_path'] = target
    e['process'] = proc_obj(p)
    e['user'] = {'id': p.uid}
    return e


def connect(clk, p, dip, dport, sip=None, sport=None, transport='tcp',
            action='connect', ms=137):
    e = base(clk, 'network', action, ms)
    v6 = ':' in dip
    sip = sip or ('2001:db8:10::5' if v6 else '10.0.0.5')
    sport = sport or (40000 + (p.pid * 7 + dport) % 20000)
    e['source'] = {'ip': sip, 'port': sport}
    e['destination'] = {'ip': dip, 'port': dport}
    e['network'] = {'transport': transport}
    e['process'] = proc_obj(p)
    e['user'] = {'id': p.uid}
    return e


def packet(clk, sip, sport, dip, dport, payload, transport='tcp',
           iface='ens3', ms=137):
    e = base(clk, 'network', 'packet', ms)
    e['source'] = {'ip': sip, 'port': sport}
    e['destination'] = {'ip': dip, 'port': dport}
    e['network'] = {'transport': transport, 'direction': 'ingress'}
    e['observer'] = {'ingress': {'interface': {'name': iface}}}
    e['payload'] = payload[:256]
    return e


def write(rule, kind, events):
    path = os.path.join(OUT, '%s.%s.jsonl' % (rule, kind))
    with open(path, 'w') as f:
        for e in events:
            f.write(json.dumps(e, separators=(',', ':')) + '\n')


# A small world shared by the fixtures.
SYSTEMD = P(1, '/usr/lib/systemd/systemd', ['/sbin/init'], 'systemd',
            start=1)
SSHD = SYSTEMD.child(812, '/usr/sbin/sshd', ['sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups'])
SSHD_S = SSHD.child(2301, '/usr/sbin/sshd', ['sshd: root@pts/0'])
ROOTSH = SSHD_S.child(2310, '/usr/bin/bash', ['-bash'], 'bash')
SSHD_U = SSHD.child(3301, '/usr/sbin/sshd', ['sshd: alice@pts/1'])
USERSH = SSHD_U.child(3310, '/usr/bin/bash', ['-bash'], 'bash', uid=1000)
CRON = SYSTEMD.child(640, '/usr/sbin/cron', ['/usr/sbin/cron', '-f'])
NGINX = SYSTEMD.child(1402, '/usr/sbin/nginx', ['nginx: worker process'], uid=33)
PHPFPM = SYSTEMD.child(1502, '/usr/sbin/php-fpm8.2', ['php-fpm: pool www'], 'php-fpm8.2', uid=33)
