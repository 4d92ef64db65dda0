// Variable precedence, jumps, local hosts, labels, consoles and host keys, as resolved into HostSpecs.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';

import { loadInventory, parseInventory } from '../../src/inventory/index.js';
import type { HostSpec, Inventory } from '../../src/model/index.js';

const ME = userInfo().username;

/** Strips the common indentation of a template literal, so fixtures can be indented with the test. */
function dedent(text: string): string {
  const lines = text.replace(/^\n/, '').replace(/\n[ ]*$/, '\n').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

function parse(text: string, baseDir = '/srv/inv'): Inventory {
  return parseInventory(dedent(text), 'hosts.yaml', { baseDir });
}

function host(inv: Inventory, name: string): HostSpec {
  const found = inv.hosts.find((h) => h.name === name);
  if (found === undefined) throw new Error(`no host ${name} in ${inv.hosts.map((h) => h.name).join(', ')}`);
  return found;
}

describe('inventory resolution', () => {
  describe('variable precedence', () => {
    it('applies all, then parent groups, then child groups, then the host', () => {
      const inv = parse(`
        all:
          vars: {ansible_user: from-all, ansible_port: 1001, gauntlet_connect_timeout: 1, region: all}
          children:
            web:
              vars: {ansible_user: from-web, ansible_port: 1002, region: web}
              hosts:
                web1:
              children:
                web_eu:
                  vars: {ansible_user: from-web-eu}
                  hosts:
                    web3: {ansible_user: from-host}
                    web4:
      `);
      expect(host(inv, 'web1')).to.include({ user: 'from-web', port: 1002, connectTimeoutS: 1 });
      expect(host(inv, 'web3')).to.include({ user: 'from-host', port: 1002 });
      expect(host(inv, 'web4')).to.include({ user: 'from-web-eu', port: 1002 });
      expect(host(inv, 'web4').vars).to.deep.equal({ ansible_user: 'from-web-eu', ansible_port: 1002, gauntlet_connect_timeout: 1, region: 'web' });
      expect(host(inv, 'web4').groups).to.deep.equal(['all', 'web', 'web_eu']);
    });

    it('lets the later sibling by name win at the same depth, whatever the file order', () => {
      const inv = parse(`
        all:
          children:
            zeta:
              vars: {ansible_user: zeta}
              hosts: {shared: }
            alpha:
              vars: {ansible_user: alpha, gauntlet_disposable: true}
              hosts: {shared: }
      `);
      expect(host(inv, 'shared')).to.include({ user: 'zeta', disposable: true });
      expect(host(inv, 'shared').groups).to.deep.equal(['all', 'alpha', 'zeta']);
    });

    it('ranks a group by its longest path from all, so a child always beats its parents', () => {
      // deep is a direct child of all and also a grandchild (via mid): it counts as depth 2.
      const inv = parse(`
        all:
          children:
            deep:
              vars: {ansible_user: deep}
              hosts: {h1: }
            mid:
              vars: {ansible_user: mid}
              children:
                deep:
      `);
      expect(host(inv, 'h1').user).to.equal('deep');
      expect(host(inv, 'h1').groups).to.deep.equal(['all', 'mid', 'deep']);
    });

    it('honours ansible_group_priority between groups of the same depth', () => {
      const inv = parse(`
        all:
          children:
            alpha:
              vars: {ansible_user: alpha, ansible_group_priority: 10}
              hosts: {h1: }
            zeta:
              vars: {ansible_user: zeta}
              hosts: {h1: }
      `);
      expect(host(inv, 'h1').user).to.equal('alpha');
    });

    it('merges host variables declared in several places, the later one winning per variable', () => {
      const inv = parse(`
        all:
          hosts:
            db1: {ansible_host: 10.0.0.1, ansible_port: 2201, owner: first}
          children:
            db:
              hosts:
                db1: {ansible_port: 2202}
      `);
      expect(host(inv, 'db1')).to.include({ address: '10.0.0.1', port: 2202, id: `ssh://${ME}@10.0.0.1:2202` });
      expect(host(inv, 'db1').vars).to.include({ owner: 'first' });
      expect(host(inv, 'db1').groups).to.deep.equal(['all', 'db']);
      expect(inv.hosts).to.have.length(1);
    });

    it('replaces whole values rather than merging them, as Ansible does', () => {
      const inv = parse(`
        all:
          vars: {gauntlet_labels: {zone: eu, disk: ssd}}
          hosts:
            h1: {gauntlet_labels: {gpu: a100}}
      `);
      expect(host(inv, 'h1').labels).to.deep.equal({ gpu: 'a100' });
    });

    it('lets the old ansible_ssh_* spellings win over the new ones, as in Ansible', () => {
      const inv = parse(`
        all:
          vars: {ansible_ssh_host: old.example.com, ansible_ssh_user: olduser, ansible_ssh_port: 2222}
          hosts:
            h1: {ansible_host: new.example.com, ansible_user: newuser, ansible_port: 22}
      `);
      expect(host(inv, 'h1')).to.include({ address: 'old.example.com', user: 'olduser', port: 2222 });
    });

    it('treats top-level groups other than all as children of all', () => {
      const inv = parse(`
        all:
          vars: {ansible_user: ops}
        web:
          vars: {ansible_port: 2200}
          hosts: {web1: }
        db:
          hosts: {db1: }
      `);
      expect(host(inv, 'web1')).to.include({ user: 'ops', port: 2200 });
      expect(inv.groups).to.deep.equal({ all: ['web1', 'db1'], web: ['web1'], db: ['db1'] });
    });

    it('applies YAML merge keys and anchors', () => {
      const inv = parse(`
        all:
          hosts:
            web1: &base {ansible_user: ops, ansible_port: 2200}
            web2:
              <<: *base
              ansible_port: 2201
      `);
      expect(host(inv, 'web2')).to.include({ user: 'ops', port: 2201 });
    });

    it('keeps plain variables, accepts known Ansible ones, and fills defaults', () => {
      const inv = parse(`
        all:
          hosts:
            h1:
              ansible_python_interpreter: /usr/bin/python3
              ansible_become: true
              build: {jobs: 4}
      `);
      const h1 = host(inv, 'h1');
      expect(h1.vars).to.deep.equal({ ansible_python_interpreter: '/usr/bin/python3', ansible_become: true, build: { jobs: 4 } });
      expect(h1).to.include({
        id: `ssh://${ME}@h1:22`,
        connection: 'ssh',
        address: 'h1',
        port: 22,
        user: ME,
        disposable: false,
        connectTimeoutS: 10,
        keepaliveIntervalS: 5,
        keepaliveCountMax: 3,
        heartbeatIntervalS: 2,
        heartbeatTimeoutS: 5,
        dockerSocket: '/var/run/docker.sock',
      });
      expect(h1.labels).to.deep.equal({});
      expect(h1.groups).to.deep.equal(['all', 'ungrouped']);
      expect(h1.source).to.deep.equal({ file: 'hosts.yaml', line: 3, col: 5 });
      for (const key of ['keyFile', 'jump', 'knownHostsFile', 'console', 'powerCycle']) expect(h1).not.to.have.property(key);
    });
  });

  describe('groups', () => {
    it('lists each group with the hosts of its descendants, in file order, plus ungrouped', () => {
      const inv = parse(`
        all:
          hosts:
            lone:
          children:
            web:
              hosts: {web1: }
              children:
                web_eu:
                  hosts: {web3: , web1: }
            db:
              hosts: {db1: }
      `);
      expect(inv.hosts.map((h) => h.name)).to.deep.equal(['lone', 'web1', 'web3', 'db1']);
      expect(inv.groups).to.deep.equal({
        all: ['lone', 'web1', 'web3', 'db1'],
        web: ['web1', 'web3'],
        web_eu: ['web1', 'web3'],
        db: ['db1'],
        ungrouped: ['lone'],
      });
      expect(host(inv, 'web1').groups).to.deep.equal(['all', 'web', 'web_eu']);
    });

    it('expands Ansible host ranges and name:port keys', () => {
      const inv = parse(`
        all:
          hosts:
            web[01:03].lab:
            db[a:b]:
            rack[1:2]-n[1:2]:
            "edge:2222":
            "[fe80::1]:2200":
            "fe80::2":
      `);
      expect(inv.hosts.map((h) => h.name)).to.deep.equal([
        'web01.lab', 'web02.lab', 'web03.lab', 'dba', 'dbb', 'rack1-n1', 'rack1-n2', 'rack2-n1', 'rack2-n2', 'edge', 'fe80::1', 'fe80::2',
      ]);
      expect(host(inv, 'edge')).to.include({ port: 2222, id: `ssh://${ME}@edge:2222` });
      expect(host(inv, 'fe80::1')).to.include({ port: 2200, id: `ssh://${ME}@[fe80::1]:2200` });
      expect(host(inv, 'fe80::2').id).to.equal(`ssh://${ME}@[fe80::2]:22`);
    });
  });

  describe('local connection', () => {
    it('gives a local:// id and still fills address, port and user', () => {
      const inv = parse(`
        all:
          hosts:
            localhost:
              ansible_connection: local
      `);
      expect(inv.hosts).to.deep.equal([
        {
          name: 'localhost',
          id: 'local://localhost',
          connection: 'local',
          address: 'localhost',
          port: 22,
          user: ME,
          groups: ['all', 'ungrouped'],
          labels: {},
          disposable: false,
          connectTimeoutS: 10,
          keepaliveIntervalS: 5,
          keepaliveCountMax: 3,
          heartbeatIntervalS: 2,
          heartbeatTimeoutS: 5,
          dockerSocket: '/var/run/docker.sock',
          vars: { ansible_connection: 'local' },
          source: { file: 'hosts.yaml', line: 3, col: 5 },
        },
      ]);
    });

    it('maps smart, paramiko and the FQCN names to ssh', () => {
      const inv = parse(`
        all:
          hosts:
            a: {ansible_connection: smart}
            b: {ansible_connection: paramiko}
            c: {ansible_connection: ansible.builtin.ssh}
            d: {ansible_connection: ansible.builtin.local}
      `);
      expect(inv.hosts.map((h) => h.connection)).to.deep.equal(['ssh', 'ssh', 'ssh', 'local']);
    });

    it('ignores jump settings inherited by a local host', () => {
      const inv = parse(`
        all:
          vars: {gauntlet_jump: ops@bastion, ansible_ssh_common_args: -J ops@bastion}
          hosts:
            localhost: {ansible_connection: local}
      `);
      expect(host(inv, 'localhost')).not.to.have.property('jump');
    });
  });

  describe('jump hosts', () => {
    const jumpOf = (args: string): unknown => host(parse(`all:\n  hosts:\n    h1:\n      ansible_ssh_common_args: '${args}'\n`), 'h1').jump;

    it('reads ProxyJump in all its spellings', () => {
      expect(jumpOf('-o ProxyJump=jumper@bastion:2200')).to.deep.equal({ address: 'bastion', port: 2200, user: 'jumper' });
      expect(jumpOf('-oProxyJump=bastion')).to.deep.equal({ address: 'bastion', port: 22, user: ME });
      expect(jumpOf('-o "ProxyJump bastion.example.com"')).to.deep.equal({ address: 'bastion.example.com', port: 22, user: ME });
      expect(jumpOf('-o proxyjump=ops@bastion')).to.deep.equal({ address: 'bastion', port: 22, user: 'ops' });
      expect(jumpOf('-J ops@[fe80::1]:2222')).to.deep.equal({ address: 'fe80::1', port: 2222, user: 'ops' });
      expect(jumpOf('-Jssh://ops@bastion:2022')).to.deep.equal({ address: 'bastion', port: 2022, user: 'ops' });
      expect(jumpOf('-o StrictHostKeyChecking=no -o ServerAliveInterval=5 -J b1 -o ProxyJump=b2')).to.deep.equal({ address: 'b1', port: 22, user: ME });
      expect(jumpOf('-o ProxyJump=none')).to.equal(undefined);
      expect(jumpOf('-o ControlMaster=auto')).to.equal(undefined);
    });

    it('takes the first ProxyJump ssh sees: ssh_args, then common args, then extra args', () => {
      const inv = parse(`
        all:
          vars: {ansible_ssh_extra_args: -J extra}
          hosts:
            h1: {ansible_ssh_common_args: -J common}
            h2: {}
      `);
      expect(host(inv, 'h1').jump?.address).to.equal('common');
      expect(host(inv, 'h2').jump?.address).to.equal('extra');
    });

    it('prefers gauntlet_jump to ssh arguments', () => {
      const inv = parse(`
        all:
          vars: {ansible_ssh_common_args: -J ops@bastion-a}
          hosts:
            h1: {gauntlet_jump: "root@bastion-b:2022"}
      `);
      expect(host(inv, 'h1').jump).to.deep.equal({ address: 'bastion-b', port: 2022, user: 'root' });
    });

    it('uses an inventory host named by gauntlet_jump, key file included', () => {
      const dir = mkdtempSync(join(tmpdir(), 'gauntlet-jump-'));
      try {
        writeFileSync(join(dir, 'bastion.key'), 'placeholder\n');
        const inv = parse(
          `
          all:
            vars: {gauntlet_jump: bastion}
            hosts:
              bastion: {ansible_host: 192.0.2.1, ansible_port: 2200, ansible_user: jump, ansible_ssh_private_key_file: bastion.key}
              h1: {ansible_host: 10.0.0.5}
          `,
          dir,
        );
        expect(host(inv, 'h1').jump).to.deep.equal({ address: '192.0.2.1', port: 2200, user: 'jump', name: 'bastion', keyFile: join(dir, 'bastion.key') });
        // The group variable reaches bastion too: a jump through itself means none.
        expect(host(inv, 'bastion')).not.to.have.property('jump');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('drops a ProxyJump that points at the host itself', () => {
      const inv = parse(`
        all:
          vars: {ansible_ssh_common_args: -J bastion.example.com}
          hosts:
            bastion: {ansible_host: bastion.example.com}
            h1:
      `);
      expect(host(inv, 'bastion')).not.to.have.property('jump');
      expect(host(inv, 'h1').jump).to.deep.equal({ address: 'bastion.example.com', port: 22, user: ME });
    });
  });

  describe('labels', () => {
    it('turns mappings of scalars into text, and lists into names mapped to "true"', () => {
      const inv = parse(`
        all:
          hosts:
            a: {gauntlet_labels: {gpu: 2, fast: true, zone: eu-1, ratio: 0.5}}
            b: {gauntlet_labels: [ssd, "zone=eu-2", arm64]}
            c: {gauntlet_labels: []}
      `);
      expect(host(inv, 'a').labels).to.deep.equal({ gpu: '2', fast: 'true', zone: 'eu-1', ratio: '0.5' });
      expect(host(inv, 'b').labels).to.deep.equal({ ssd: 'true', zone: 'eu-2', arm64: 'true' });
      expect(host(inv, 'c').labels).to.deep.equal({});
    });
  });

  describe('consoles and paths', () => {
    let dir: string;
    let savedHome: string | undefined;

    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'gauntlet-paths-'));
      mkdirSync(join(dir, 'home', '.ssh'), { recursive: true });
      writeFileSync(join(dir, 'home', '.ssh', 'id_ed25519'), 'placeholder\n');
      writeFileSync(join(dir, 'local.key'), 'placeholder\n');
      savedHome = process.env['HOME'];
      process.env['HOME'] = join(dir, 'home');
    });

    after(() => {
      if (savedHome === undefined) delete process.env['HOME'];
      else process.env['HOME'] = savedHome;
      rmSync(dir, { recursive: true, force: true });
    });

    it('reads every console form', () => {
      const inv = parse(
        `
        all:
          hosts:
            a: {gauntlet_console: file:consoles/a.log}
            b: {gauntlet_console: "netconsole:6666"}
            c: {gauntlet_console: "command:ipmitool -I lanplus -H c-bmc -E sol activate"}
            d: {gauntlet_console: "qemu:~/vms/d.sock"}
            e: {gauntlet_console: {kind: file, path: /var/log/e.log}}
            f: {gauntlet_console: {kind: netconsole, port: "6667", bind: 0.0.0.0, configure: true}}
            g: {gauntlet_console: {kind: command, command: conserver-console g}}
            h: {gauntlet_console: {kind: qemu, path: h.sock}}
        `,
        dir,
      );
      expect(inv.hosts.map((h) => h.console)).to.deep.equal([
        { kind: 'file', path: join(dir, 'consoles/a.log') },
        { kind: 'netconsole', port: 6666 },
        { kind: 'command', command: 'ipmitool -I lanplus -H c-bmc -E sol activate' },
        { kind: 'qemu', path: join(dir, 'home/vms/d.sock') },
        { kind: 'file', path: '/var/log/e.log' },
        { kind: 'netconsole', port: 6667, bind: '0.0.0.0', configure: true },
        { kind: 'command', command: 'conserver-console g' },
        { kind: 'qemu', path: join(dir, 'h.sock') },
      ]);
    });

    it('expands ~ and resolves relative paths against the inventory folder', () => {
      const inv = parse(
        `
        all:
          hosts:
            a: {ansible_ssh_private_key_file: ~/.ssh/id_ed25519, gauntlet_known_hosts: ~/.ssh/known_hosts}
            b: {ansible_private_key_file: local.key, gauntlet_known_hosts: not-yet/known_hosts}
            c: {ansible_private_key_file: ${join(dir, 'local.key')}, gauntlet_power_cycle: virsh reset c}
        `,
        dir,
      );
      expect(host(inv, 'a')).to.include({ keyFile: join(dir, 'home/.ssh/id_ed25519'), knownHostsFile: join(dir, 'home/.ssh/known_hosts') });
      expect(host(inv, 'b')).to.include({ keyFile: join(dir, 'local.key'), knownHostsFile: join(dir, 'not-yet/known_hosts') });
      expect(host(inv, 'c')).to.include({ keyFile: join(dir, 'local.key'), powerCycle: 'virsh reset c' });
    });

    it('defaults the base folder to the inventory file\'s own', () => {
      const inv = parseInventory('all:\n  hosts:\n    a: {ansible_private_key_file: local.key}\n', join(dir, 'hosts.yaml'));
      expect(host(inv, 'a').keyFile).to.equal(join(dir, 'local.key'));
    });
  });

  describe('loadInventory', () => {
    it('reads a file, resolving paths next to it, with the digest of its bytes', async () => {
      const file = 'test/fixtures/inventories/valid-full.yaml';
      const inv = await loadInventory(file);
      const dir = resolve('test/fixtures/inventories');
      expect(inv.file).to.equal(file);
      expect(inv.digest).to.equal(createHash('sha256').update(readFileSync(file)).digest('hex'));
      expect(inv.hosts.map((h) => h.id)).to.deep.equal(['local://localhost', 'ssh://ops@192.0.2.1:2200', 'ssh://ops@[fe80::1]:22']);
      const vm1 = host(inv, 'vm1');
      expect(vm1.jump).to.deep.equal({ address: '192.0.2.1', port: 2200, user: 'ops', name: 'bastion', keyFile: join(dir, 'keys/placeholder-key') });
      expect(vm1).to.deep.include({
        address: 'fe80::1',
        disposable: true,
        knownHostsFile: join(dir, 'known_hosts.test'),
        console: { kind: 'file', path: join(dir, 'consoles/vm1.log') },
        powerCycle: 'virsh reset vm1',
        labels: { gpu: '2', fast: 'true', zone: 'eu' },
        connectTimeoutS: 2.5,
        keepaliveIntervalS: 0,
        keepaliveCountMax: 5,
        heartbeatIntervalS: 0.5,
        heartbeatTimeoutS: 10,
        dockerSocket: '/run/docker.sock',
        groups: ['all', 'lab'],
        source: { file, line: 25, col: 9 },
      });
      expect(host(inv, 'bastion').keyFile).to.equal(join(dir, 'keys/placeholder-key'));
    });
  });
});
