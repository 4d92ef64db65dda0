// One table row per inventory validation message, plus the multi-problem and secret-redaction checks.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadInventory, parseInventory } from '../../src/inventory/index.js';
import { GauntletError } from '../../src/model/index.js';

/** Strips the common indentation of a template literal, so fixtures can be indented with the test. */
function dedent(text: string): string {
  const lines = text.replace(/^\n/, '').replace(/\n[ ]*$/, '\n').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

/** The details of the INVENTORY_INVALID error that parsing `text` throws. */
function collectProblems(text: string, baseDir: string): string[] {
  try {
    parseInventory(text, 'hosts.yaml', { baseDir });
  } catch (err) {
    expect(err).to.be.instanceOf(GauntletError);
    const e = err as GauntletError;
    expect(e.code).to.equal('INVENTORY_INVALID');
    expect(e.message).to.equal(`hosts.yaml: ${e.details.length} problem${e.details.length === 1 ? '' : 's'}`);
    return e.details;
  }
  throw new Error('expected the inventory to be refused');
}

interface Row {
  what: string;
  yaml: string;
  /** Every expected line; `$DIR` stands for the fixture directory. */
  problems: string[];
}

/** A host `db2` with one variable: the value is at line 4, column 9 + the name's length. */
function hostVar(line: string): string {
  return `all:\n  hosts:\n    db2:\n      ${line}\n`;
}

const ROWS: Row[] = [
  // Shape of the file
  { what: 'YAML syntax error', yaml: 'all:\n  hosts:\n    a: "abc\n', problems: ['hosts.yaml:4:1 (yaml): expected valid YAML, got missing closing "quote'] },
  { what: 'tab indentation', yaml: 'all:\n\thosts:\n', problems: ['hosts.yaml:2:1 (yaml): expected valid YAML, got tabs are not allowed as indentation; hint: indent with spaces, not tabs'] },
  { what: 'empty file', yaml: '', problems: ['hosts.yaml:1:1 (root): expected an inventory with at least one host, got an empty file; hint: add localhost: {ansible_connection: local} under all.hosts'] },
  { what: 'only comments', yaml: '# nothing yet\n', problems: ['hosts.yaml:1:1 (root): expected an inventory with at least one host, got an empty file; hint: add localhost: {ansible_connection: local} under all.hosts'] },
  { what: 'groups without hosts', yaml: 'all:\n  children:\n    web: {}\n', problems: ['hosts.yaml:1:1 (root): expected an inventory with at least one host, got groups without hosts; hint: add localhost: {ansible_connection: local} under all.hosts'] },
  { what: 'root is a list', yaml: '- web1\n- web2\n', problems: ['hosts.yaml:1:1 (root): expected a mapping of groups (all: …), got a list'] },
  { what: 'all is text', yaml: 'all: web1\n', problems: ['hosts.yaml:1:6 all: expected a group mapping with hosts, vars or children, got "web1"'] },
  { what: 'hosts is a list', yaml: 'all:\n  hosts:\n    - web1\n', problems: ['hosts.yaml:3:5 all.hosts: expected a mapping of host names, got a list; hint: write each host as name: on its own line'] },
  { what: 'children is a list', yaml: 'all:\n  hosts: {a: }\n  children: [web]\n', problems: ['hosts.yaml:3:13 all.children: expected a mapping of child groups, got a list; hint: write each child group as name: on its own line'] },
  { what: 'vars is text', yaml: 'all:\n  vars: ops\n  hosts: {a: }\n', problems: ['hosts.yaml:2:9 all.vars: expected a mapping of variables, got "ops"'] },
  { what: 'host value is text', yaml: 'all:\n  hosts:\n    web1: 10.0.0.5\n', problems: ['hosts.yaml:3:11 all.hosts.web1: expected a mapping of host variables or nothing, got "10.0.0.5"'] },
  { what: 'unknown group key', yaml: 'all:\n  hosts: {a: }\n  var:\n    x: 1\n', problems: ['hosts.yaml:3:3 all.var: expected a group key (hosts, vars, children), got "var"; hint: did you mean vars?'] },
  { what: 'variable directly on a group', yaml: 'all:\n  hosts: {a: }\n  ansible_user: ops\n', problems: ['hosts.yaml:3:3 all.ansible_user: expected a group key (hosts, vars, children), got "ansible_user"; hint: group variables go under vars:'] },
  { what: 'duplicate host', yaml: 'all:\n  hosts:\n    web1:\n    web2:\n    web1: {ansible_port: 22}\n', problems: ['hosts.yaml:5:5 all.hosts.web1: expected each host once in a mapping, got duplicate host "web1" (first at line 3)'] },
  { what: 'duplicate variable', yaml: hostVar('ansible_port: 22\n      ansible_port: 23'), problems: ['hosts.yaml:5:7 all.hosts.db2.ansible_port: expected each variable once in a mapping, got duplicate variable "ansible_port" (first at line 4)'] },
  { what: 'duplicate group key', yaml: 'all:\n  hosts: {a: }\n  hosts: {b: }\n', problems: ['hosts.yaml:3:3 all.hosts: expected each key once in a mapping, got duplicate key "hosts" (first at line 2)'] },
  { what: 'duplicate child group', yaml: 'all:\n  children:\n    web: {hosts: {a: }}\n    web: {}\n', problems: ['hosts.yaml:4:5 all.children.web: expected each group once in a mapping, got duplicate group "web" (first at line 3)'] },
  { what: 'all as a child group', yaml: 'all:\n  hosts: {a: }\n  children:\n    all: {}\n', problems: ['hosts.yaml:4:5 all.children.all: expected a child group other than all, got "all"; hint: every group is already a child of all'] },
  {
    what: 'group cycle',
    yaml: 'all:\n  children:\n    web:\n      hosts: {a: }\n      children:\n        eu:\n          children:\n            web: {}\n',
    problems: ['hosts.yaml:8:13 all.children.web.children.eu.children.web: expected a group tree without cycles, got web → eu → web'],
  },
  { what: 'bad host range', yaml: 'all:\n  hosts:\n    web[01:0a]:\n', problems: ['hosts.yaml:3:5 all.hosts["web[01:0a]"]: expected a host range like [01:10], [1:20:2] or [a:f], got "web[01:0a]"'] },
  { what: 'bad port in name:port', yaml: 'all:\n  hosts:\n    "web1:99999":\n', problems: ['hosts.yaml:3:5 all.hosts["web1:99999"]: expected a port 1-65535 after the colon in name:port, got "web1:99999"'] },
  { what: 'invalid variable name', yaml: hostVar('my-var: 1'), problems: ['hosts.yaml:4:7 all.hosts.db2.my-var: expected a variable name of letters, digits and _, got "my-var"'] },

  // Unknown and refused variables
  { what: 'unknown gauntlet_ variable', yaml: hostVar('gauntlet_disposible: true'), problems: ['hosts.yaml:4:7 all.hosts.db2.gauntlet_disposible: expected a known gauntlet_ variable, got "gauntlet_disposible"; hint: did you mean gauntlet_disposable?'] },
  {
    what: 'unknown gauntlet_ variable, nothing close',
    yaml: hostVar('gauntlet_colour: red'),
    problems: [
      'hosts.yaml:4:7 all.hosts.db2.gauntlet_colour: expected a known gauntlet_ variable, got "gauntlet_colour"; hint: gauntlet reads gauntlet_jump, gauntlet_known_hosts, gauntlet_labels, gauntlet_disposable, gauntlet_console, gauntlet_power_cycle, gauntlet_connect_timeout, gauntlet_keepalive_interval, gauntlet_keepalive_count_max, gauntlet_heartbeat_interval, gauntlet_heartbeat_timeout, gauntlet_docker_socket, gauntlet_kernel_config',
    ],
  },
  { what: 'unknown ansible_ variable', yaml: hostVar('ansible_prot: 22'), problems: ['hosts.yaml:4:7 all.hosts.db2.ansible_prot: expected a known Ansible variable, got "ansible_prot"; hint: did you mean ansible_port?'] },
  { what: 'password', yaml: hostVar('ansible_password: hunter2'), problems: ['hosts.yaml:4:25 all.hosts.db2.ansible_password: expected no password (use a key file or ssh-agent), got <redacted>'] },
  { what: 'old ssh password', yaml: hostVar('ansible_ssh_pass: hunter2'), problems: ['hosts.yaml:4:25 all.hosts.db2.ansible_ssh_pass: expected no password (use a key file or ssh-agent), got <redacted>'] },
  { what: 'become password', yaml: 'all:\n  vars:\n    ansible_become_pass: hunter2\n  hosts: {a: }\n', problems: ['hosts.yaml:3:26 all.vars.ansible_become_pass: expected no password (use a key file or ssh-agent), got <redacted>'] },
  { what: 'Jinja template', yaml: hostVar('ansible_host: "{{ inventory_hostname }}.lab"'), problems: ['hosts.yaml:4:21 all.hosts.db2.ansible_host: expected a plain value (gauntlet does not evaluate Jinja templates), got "{{ inventory_hostname }}.lab"'] },
  { what: 'vault value', yaml: hostVar('ansible_user: !vault |\n        $ANSIBLE_VAULT;1.1;AES256\n        6162636465'), problems: ['hosts.yaml:4:28 all.hosts.db2.ansible_user: expected a plain value (gauntlet cannot decrypt Ansible Vault), got <vault-encrypted>'] },

  // ansible_* variables gauntlet reads
  { what: 'ansible_host not text', yaml: hostVar('ansible_host: 5'), problems: ['hosts.yaml:4:21 all.hosts.db2.ansible_host: expected a host name or IP address, got 5'] },
  { what: 'ansible_host with a user', yaml: hostVar('ansible_host: ops@10.0.0.5'), problems: ['hosts.yaml:4:21 all.hosts.db2.ansible_host: expected a host name or IP address, got "ops@10.0.0.5"; hint: put the user in ansible_user'] },
  { what: 'ansible_host with a port', yaml: hostVar('ansible_host: "10.0.0.5:2222"'), problems: ['hosts.yaml:4:21 all.hosts.db2.ansible_host: expected a host name or IP address, got "10.0.0.5:2222"; hint: put the port in ansible_port'] },
  { what: 'ansible_ssh_host alias checked too', yaml: hostVar('ansible_ssh_host: ""'), problems: ['hosts.yaml:4:25 all.hosts.db2.ansible_ssh_host: expected a host name or IP address, got ""'] },
  { what: 'port 0', yaml: hostVar('ansible_port: 0'), problems: ['hosts.yaml:4:21 all.hosts.db2.ansible_port: expected an integer 1-65535, got 0'] },
  { what: 'port 70000', yaml: hostVar('ansible_port: 70000'), problems: ['hosts.yaml:4:21 all.hosts.db2.ansible_port: expected an integer 1-65535, got 70000'] },
  { what: 'port "22a"', yaml: hostVar('ansible_port: "22a"'), problems: ['hosts.yaml:4:21 all.hosts.db2.ansible_port: expected an integer 1-65535, got "22a"'] },
  { what: 'port 22.5', yaml: hostVar('ansible_port: 22.5'), problems: ['hosts.yaml:4:21 all.hosts.db2.ansible_port: expected an integer 1-65535, got 22.5'] },
  { what: 'port empty', yaml: hostVar('ansible_ssh_port:'), problems: ['hosts.yaml:4:7 all.hosts.db2.ansible_ssh_port: expected an integer 1-65535, got null'] },
  { what: 'ansible_user a list', yaml: hostVar('ansible_user: [ops]'), problems: ['hosts.yaml:4:21 all.hosts.db2.ansible_user: expected a user name, got a list'] },
  {
    what: 'key file missing',
    yaml: hostVar('ansible_ssh_private_key_file: keys/missing'),
    problems: ['hosts.yaml:4:37 all.hosts.db2.ansible_ssh_private_key_file: expected a readable key file, got "keys/missing" (ENOENT: no such file); hint: resolved to $DIR/keys/missing'],
  },
  {
    // Tests run as root, for whom chmod 000 is still readable: a directory and a dangling symlink
    // are the unreadable key files every user gets.
    what: 'key file is a directory',
    yaml: hostVar('ansible_private_key_file: $DIR/keydir'),
    problems: ['hosts.yaml:4:33 all.hosts.db2.ansible_private_key_file: expected a readable key file, got "$DIR/keydir" (EISDIR: is a directory)'],
  },
  {
    what: 'key file is a dangling symlink',
    yaml: hostVar('ansible_ssh_private_key_file: dangling'),
    problems: ['hosts.yaml:4:37 all.hosts.db2.ansible_ssh_private_key_file: expected a readable key file, got "dangling" (ENOENT: no such file); hint: resolved to $DIR/dangling'],
  },
  { what: 'key file under another user', yaml: hostVar('ansible_ssh_private_key_file: ~bob/.ssh/id'), problems: ['hosts.yaml:4:37 all.hosts.db2.ansible_ssh_private_key_file: expected a readable key file, got "~bob/.ssh/id"; hint: write ~/… or a full path'] },
  { what: 'unsupported connection', yaml: hostVar('ansible_connection: docker'), problems: ['hosts.yaml:4:27 all.hosts.db2.ansible_connection: expected one of ssh, local, smart, paramiko, got "docker"'] },
  { what: 'misspelt connection', yaml: hostVar('ansible_connection: lcoal'), problems: ['hosts.yaml:4:27 all.hosts.db2.ansible_connection: expected one of ssh, local, smart, paramiko, got "lcoal"; hint: did you mean local?'] },
  {
    what: 'ProxyCommand',
    yaml: hostVar("ansible_ssh_common_args: '-o ProxyCommand=\"ssh -W %h:%p -q -p 2200 ops@bastion\"'"),
    problems: ['hosts.yaml:4:32 all.hosts.db2.ansible_ssh_common_args: expected -o ProxyJump=[user@]host[:port], got -o ProxyCommand (not supported, use ProxyJump); hint: write -o ProxyJump=ops@bastion:2200 or gauntlet_jump: ops@bastion:2200'],
  },
  {
    what: 'ProxyCommand that is not ssh -W',
    yaml: hostVar("ansible_ssh_extra_args: -o 'ProxyCommand=nc -X 5 -x proxy:1080 %h %p'"),
    problems: ['hosts.yaml:4:31 all.hosts.db2.ansible_ssh_extra_args: expected -o ProxyJump=[user@]host[:port], got -o ProxyCommand (not supported, use ProxyJump); hint: gauntlet connects with ssh2, which cannot run a proxy command'],
  },
  { what: 'chained ProxyJump', yaml: hostVar('ansible_ssh_common_args: -J a,b'), problems: ['hosts.yaml:4:32 all.hosts.db2.ansible_ssh_common_args: expected a single jump host, got "a,b"; hint: chained jumps (a,b) are not supported; jump through the last hop'] },
  { what: 'ProxyJump bad port', yaml: hostVar('ansible_ssh_common_args: -o ProxyJump=ops@bastion:0'), problems: ['hosts.yaml:4:32 all.hosts.db2.ansible_ssh_common_args: expected a jump port 1-65535, got "ops@bastion:0"'] },
  { what: 'ssh args with an open quote', yaml: hostVar('ansible_ssh_common_args: "-o \'ProxyJump=a"'), problems: ['hosts.yaml:4:32 all.hosts.db2.ansible_ssh_common_args: expected ssh arguments with balanced quotes, got an unterminated quote'] },
  { what: 'group priority not a number', yaml: 'all:\n  hosts: {a: }\n  children:\n    web:\n      vars: {ansible_group_priority: high}\n', problems: ['hosts.yaml:5:38 all.children.web.vars.ansible_group_priority: expected an integer, got "high"'] },

  // gauntlet_* variables
  { what: 'jump with a bad port', yaml: hostVar('gauntlet_jump: ops@bastion:99999'), problems: ['hosts.yaml:4:22 all.hosts.db2.gauntlet_jump: expected a jump port 1-65535, got "ops@bastion:99999"'] },
  { what: 'jump with spaces', yaml: hostVar('gauntlet_jump: ops@my bastion'), problems: ['hosts.yaml:4:22 all.hosts.db2.gauntlet_jump: expected a jump host as [user@]host[:port], got "ops@my bastion"'] },
  { what: 'jump not text', yaml: hostVar('gauntlet_jump: {host: b}'), problems: ['hosts.yaml:4:22 all.hosts.db2.gauntlet_jump: expected a jump host as [user@]host[:port] or an inventory host name, got a mapping'] },
  {
    what: 'jump through a local host',
    yaml: 'all:\n  hosts:\n    localhost: {ansible_connection: local}\n    db2:\n      gauntlet_jump: localhost\n',
    problems: ['hosts.yaml:5:22 all.hosts.db2.gauntlet_jump: expected an SSH host to jump through, got "localhost" (ansible_connection: local)'],
  },
  {
    what: 'chained jump',
    yaml: 'all:\n  hosts:\n    outer: {ansible_host: 192.0.2.1}\n    inner: {gauntlet_jump: outer}\n    db2: {gauntlet_jump: inner}\n',
    problems: ['hosts.yaml:5:26 all.hosts.db2.gauntlet_jump: expected a jump host reached without a jump, got "inner", which jumps through "outer"; hint: chained jumps are not supported'],
  },
  { what: 'known_hosts not text', yaml: hostVar('gauntlet_known_hosts: 5'), problems: ['hosts.yaml:4:29 all.hosts.db2.gauntlet_known_hosts: expected a known_hosts file path, got 5'] },
  { what: 'labels as text', yaml: hostVar('gauntlet_labels: gpu'), problems: ['hosts.yaml:4:24 all.hosts.db2.gauntlet_labels: expected a mapping of labels or a list of label names, got "gpu"'] },
  { what: 'label value a mapping', yaml: hostVar('gauntlet_labels: {gpu: {model: a100}}'), problems: ['hosts.yaml:4:30 all.hosts.db2.gauntlet_labels.gpu: expected a label value (text, a number or true/false), got a mapping'] },
  { what: 'label value empty', yaml: hostVar('gauntlet_labels: {gpu: }'), problems: ['hosts.yaml:4:25 all.hosts.db2.gauntlet_labels.gpu: expected a label value (text, a number or true/false), got null; hint: write gpu: "true", or list bare labels'] },
  { what: 'label list item a mapping', yaml: hostVar('gauntlet_labels: [ssd, {gpu: a100}]'), problems: ['hosts.yaml:4:30 all.hosts.db2.gauntlet_labels[1]: expected a label name, got a mapping; hint: in a list write gpu=a100, or make gauntlet_labels a mapping'] },
  { what: 'label name with spaces', yaml: hostVar('gauntlet_labels: ["fast disk"]'), problems: ['hosts.yaml:4:25 all.hosts.db2.gauntlet_labels[0]: expected a label name without spaces, got "fast disk"'] },
  { what: 'disposable yes', yaml: hostVar('gauntlet_disposable: yes'), problems: ['hosts.yaml:4:28 all.hosts.db2.gauntlet_disposable: expected true or false, got "yes"; hint: YAML 1.2 reads yes as text; write true'] },
  { what: 'disposable quoted', yaml: hostVar('gauntlet_disposable: "false"'), problems: ['hosts.yaml:4:28 all.hosts.db2.gauntlet_disposable: expected true or false, got "false"; hint: write false without quotes'] },
  {
    what: 'console of an unknown kind',
    yaml: hostVar('gauntlet_console: serial:/dev/ttyS0'),
    problems: ['hosts.yaml:4:25 all.hosts.db2.gauntlet_console: expected a console as file:PATH, netconsole:PORT, command:CMD or qemu:PATH, got "serial:/dev/ttyS0"'],
  },
  {
    what: 'console kind misspelt',
    yaml: hostVar('gauntlet_console: qemo:/tmp/vm.sock'),
    problems: ['hosts.yaml:4:25 all.hosts.db2.gauntlet_console: expected a console as file:PATH, netconsole:PORT, command:CMD or qemu:PATH, got "qemo:/tmp/vm.sock"; hint: did you mean qemu?'],
  },
  { what: 'netconsole port text', yaml: hostVar('gauntlet_console: netconsole:udp'), problems: ['hosts.yaml:4:25 all.hosts.db2.gauntlet_console: expected an integer 1-65535, got "udp"'] },
  { what: 'command console without a command', yaml: hostVar('gauntlet_console: "command:"'), problems: ['hosts.yaml:4:25 all.hosts.db2.gauntlet_console: expected a console as command:CMD, got ""'] },
  { what: 'console a number', yaml: hostVar('gauntlet_console: 6666'), problems: ['hosts.yaml:4:25 all.hosts.db2.gauntlet_console: expected a console as file:PATH, netconsole:PORT, command:CMD or qemu:PATH, or a mapping with kind, got 6666'] },
  { what: 'console mapping without kind', yaml: hostVar('gauntlet_console: {path: /tmp/x}'), problems: ['hosts.yaml:4:25 all.hosts.db2.gauntlet_console: expected a console mapping with kind (file, netconsole, command, qemu), got a mapping without kind'] },
  { what: 'console mapping with a bad port', yaml: hostVar('gauntlet_console: {kind: netconsole, port: 70000}'), problems: ['hosts.yaml:4:50 all.hosts.db2.gauntlet_console.port: expected an integer 1-65535, got 70000'] },
  {
    what: 'console mapping with a misspelt key',
    yaml: hostVar('gauntlet_console: {kind: file, paht: /tmp/x}'),
    problems: [
      'hosts.yaml:4:25 all.hosts.db2.gauntlet_console: expected a file console with path, got a mapping without path',
      'hosts.yaml:4:38 all.hosts.db2.gauntlet_console.paht: expected a key of a file console (kind, path), got "paht"; hint: did you mean path?',
    ],
  },
  { what: 'netconsole configure not boolean', yaml: hostVar('gauntlet_console: {kind: netconsole, port: 6666, configure: "yes"}'), problems: ['hosts.yaml:4:67 all.hosts.db2.gauntlet_console.configure: expected true or false, got "yes"; hint: YAML 1.2 reads yes as text; write true'] },
  { what: 'empty power cycle', yaml: hostVar('gauntlet_power_cycle: ""'), problems: ['hosts.yaml:4:29 all.hosts.db2.gauntlet_power_cycle: expected a command to run on the runner, got ""'] },
  { what: 'connect timeout 0', yaml: hostVar('gauntlet_connect_timeout: 0'), problems: ['hosts.yaml:4:33 all.hosts.db2.gauntlet_connect_timeout: expected a number of seconds > 0, got 0'] },
  { what: 'connect timeout quoted', yaml: hostVar('gauntlet_connect_timeout: "10"'), problems: ['hosts.yaml:4:33 all.hosts.db2.gauntlet_connect_timeout: expected a number of seconds > 0, got "10"; hint: write it without quotes'] },
  { what: 'keepalive interval negative', yaml: hostVar('gauntlet_keepalive_interval: -1'), problems: ['hosts.yaml:4:36 all.hosts.db2.gauntlet_keepalive_interval: expected a number of seconds >= 0, got -1'] },
  { what: 'keepalive count fractional', yaml: hostVar('gauntlet_keepalive_count_max: 1.5'), problems: ['hosts.yaml:4:37 all.hosts.db2.gauntlet_keepalive_count_max: expected an integer >= 1, got 1.5'] },
  { what: 'heartbeat interval 0', yaml: hostVar('gauntlet_heartbeat_interval: 0'), problems: ['hosts.yaml:4:36 all.hosts.db2.gauntlet_heartbeat_interval: expected a number of seconds > 0, got 0'] },
  { what: 'heartbeat interval as text', yaml: hostVar('gauntlet_heartbeat_interval: 2s'), problems: ['hosts.yaml:4:36 all.hosts.db2.gauntlet_heartbeat_interval: expected a number of seconds > 0, got "2s"'] },
  { what: 'heartbeat timeout negative', yaml: hostVar('gauntlet_heartbeat_timeout: -5'), problems: ['hosts.yaml:4:35 all.hosts.db2.gauntlet_heartbeat_timeout: expected a number of seconds > 0, got -5'] },
  { what: 'heartbeat timeout quoted', yaml: hostVar('gauntlet_heartbeat_timeout: "5"'), problems: ['hosts.yaml:4:35 all.hosts.db2.gauntlet_heartbeat_timeout: expected a number of seconds > 0, got "5"; hint: write it without quotes'] },
  { what: 'docker socket over tcp', yaml: hostVar('gauntlet_docker_socket: tcp://10.0.0.5:2375'), problems: ['hosts.yaml:4:31 all.hosts.db2.gauntlet_docker_socket: expected an absolute unix socket path, got "tcp://10.0.0.5:2375"; hint: gauntlet reaches the engine through its unix socket on the host'] },
  { what: 'docker socket relative', yaml: hostVar('gauntlet_docker_socket: docker.sock'), problems: ['hosts.yaml:4:31 all.hosts.db2.gauntlet_docker_socket: expected an absolute unix socket path, got "docker.sock"'] },

  // Across hosts
  {
    what: 'same machine twice',
    yaml: 'all:\n  vars: {ansible_user: ops}\n  hosts:\n    db1: {ansible_host: 10.0.4.12}\n    db2:\n      ansible_host: 10.0.4.12\n',
    problems: ['hosts.yaml:5:5 all.hosts.db2: expected one inventory host per machine, got hosts db1 and db2 are the same machine ssh://ops@10.0.4.12:22; hint: two workers would stress one machine; remove one, or put the host in several groups'],
  },
  {
    what: 'same machine, different case and group',
    yaml: 'all:\n  vars: {ansible_user: ops}\n  hosts:\n    DB1.lab:\n  children:\n    db:\n      hosts:\n        db1: {ansible_host: db1.LAB, ansible_port: "22"}\n',
    problems: ['hosts.yaml:8:9 all.children.db.hosts.db1: expected one inventory host per machine, got hosts DB1.lab and db1 are the same machine ssh://ops@DB1.lab:22; hint: two workers would stress one machine; remove one, or put the host in several groups'],
  },
  {
    what: 'two local hosts',
    yaml: 'all:\n  hosts:\n    localhost: {ansible_connection: local}\n    me: {ansible_connection: local}\n',
    problems: ['hosts.yaml:4:5 all.hosts.me: expected one inventory host per machine, got hosts localhost and me are the same machine this runner (ansible_connection: local); hint: two workers would stress one machine; remove one, or put the host in several groups'],
  },
];

describe('inventory validation messages', () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gauntlet-inventory-'));
    writeFileSync(join(dir, 'id_ok'), 'placeholder\n');
    mkdirSync(join(dir, 'keydir'));
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const row of ROWS) {
    it(row.what, () => {
      const expected = row.problems.map((line) => line.replaceAll('$DIR', dir));
      expect(collectProblems(row.yaml.replaceAll('$DIR', dir), dir)).to.deep.equal(expected);
    });
  }

  it('lists every problem of a file, in file order', async () => {
    const file = 'test/fixtures/inventories/multi-error.yaml';
    const err = await loadInventory(file).then(
      () => undefined,
      (e: unknown) => e as GauntletError,
    );
    expect(err).to.be.instanceOf(GauntletError);
    expect(err!.message).to.equal(`${file}: 8 problems`);
    expect(err!.details).to.deep.equal([
      `${file}:4:19 all.vars.ansible_user: expected a user name, got a list`,
      `${file}:5:5 all.vars.gauntlet_disposible: expected a known gauntlet_ variable, got "gauntlet_disposible"; hint: did you mean gauntlet_disposable?`,
      `${file}:10:21 all.hosts.db2.ansible_port: expected an integer 1-65535, got "22a"`,
      `${file}:11:25 all.hosts.db2.ansible_password: expected no password (use a key file or ssh-agent), got <redacted>`,
      `${file}:12:5 all.hosts.db1: expected each host once in a mapping, got duplicate host "db1" (first at line 7)`,
      `${file}:18:29 all.children.web.hosts.web1.gauntlet_console: expected a console as file:PATH, netconsole:PORT, command:CMD or qemu:PATH, got "serial:/dev/ttyS0"`,
      `${file}:19:41 all.children.web.hosts.web1.gauntlet_keepalive_count_max: expected an integer >= 1, got 0`,
      `${file}:20:7 all.children.web.childs: expected a group key (hosts, vars, children), got "childs"; hint: did you mean children?`,
    ]);
  });

  it('reports a group variable once, however many hosts inherit it', () => {
    const text = dedent(`
      all:
        vars: {ansible_port: 0}
        hosts: {a: , b: , c: }
    `);
    expect(collectProblems(text, dir)).to.deep.equal(['hosts.yaml:2:24 all.vars.ansible_port: expected an integer 1-65535, got 0']);
  });

  it('quotes host names with dots in paths', () => {
    const text = dedent(`
      all:
        hosts:
          db1.example.com: {ansible_port: nope}
    `);
    expect(collectProblems(text, dir)).to.deep.equal(['hosts.yaml:3:37 all.hosts["db1.example.com"].ansible_port: expected an integer 1-65535, got "nope"']);
  });

  it('abbreviates long values', () => {
    const long = 'x'.repeat(200);
    const [line] = collectProblems(hostVar(`ansible_port: ${long}`), dir);
    expect(line).to.equal(`hosts.yaml:4:21 all.hosts.db2.ansible_port: expected an integer 1-65535, got "${'x'.repeat(59)}…"`);
  });

  it('uses the file name as given', () => {
    try {
      parseInventory('all: 5\n', 'inventories/prod/hosts.yaml', { baseDir: dir });
      expect.fail('expected an error');
    } catch (err) {
      expect((err as GauntletError).message).to.equal('inventories/prod/hosts.yaml: 1 problem');
      expect((err as GauntletError).details).to.deep.equal(['inventories/prod/hosts.yaml:1:6 all: expected a group mapping with hosts, vars or children, got 5']);
    }
  });

  it('reports an unreadable inventory file without a stack trace', async () => {
    const err = await loadInventory(join(dir, 'absent.yaml')).catch((e: unknown) => e as GauntletError);
    expect(err).to.be.instanceOf(GauntletError);
    expect((err as GauntletError).code).to.equal('INVENTORY_INVALID');
    expect((err as GauntletError).details).to.deep.equal([`${join(dir, 'absent.yaml')}: expected a readable inventory file, got ENOENT: no such file`]);
  });

  describe('secrets', () => {
    const SECRET = 'hunter2-do-not-print';

    function expectNoSecret(text: string): string[] {
      let thrown: unknown;
      try {
        parseInventory(text, 'hosts.yaml', { baseDir: dir });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).to.be.instanceOf(GauntletError);
      const e = thrown as GauntletError;
      const everything = [e.message, e.stack ?? '', ...e.details, JSON.stringify(e), String(e.cause ?? '')].join('\n');
      expect(everything).not.to.include(SECRET);
      return e.details;
    }

    for (const name of ['ansible_password', 'ansible_ssh_pass', 'ansible_ssh_password', 'ansible_become_password', 'ansible_become_pass']) {
      it(`never shows the value of ${name}`, () => {
        const details = expectNoSecret(hostVar(`${name}: ${SECRET}`));
        expect(details).to.have.length(1);
        expect(details[0]).to.match(/expected no password \(use a key file or ssh-agent\), got <redacted>$/);
      });
    }

    it('never shows a password from a group, a list or a mapping value', () => {
      const text = dedent(`
        all:
          vars:
            ansible_password: [${SECRET}]
            ansible_become_password: {value: ${SECRET}}
          hosts: {a: }
      `);
      expect(expectNoSecret(text)).to.have.length(2);
    });

    it('never shows a password on a line that is not valid YAML', () => {
      expectNoSecret(`all:\n  hosts:\n    a:\n      ansible_password: "${SECRET}\n`);
      expectNoSecret(`- a\nansible_password: ${SECRET}\n`);
      expectNoSecret(`all:\n  hosts:\n    a: {ansible_password: ${SECRET}\n`);
      expectNoSecret(`all:\n  hosts:\n    a:\n      ansible_password: |${SECRET}\n        x\n`);
      expectNoSecret(`all:\n  hosts:\n    a:\n      ansible_password: "${SECRET}\\q"\n`);
    });

    it('never shows a misspelt password variable', () => {
      const details = expectNoSecret(hostVar(`ansible_pasword: ${SECRET}`));
      expect(details).to.deep.equal(['hosts.yaml:4:7 all.hosts.db2.ansible_pasword: expected a known Ansible variable, got "ansible_pasword"; hint: did you mean ansible_password?']);
    });
  });
});
