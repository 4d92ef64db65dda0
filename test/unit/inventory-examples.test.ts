// Every shipped inventory parses: examples/*.yaml, the top-level hosts.yaml, and hosts.yaml's commented examples.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadInventory, parseInventory } from '../../src/inventory/index.js';

const SHIPPED = ['hosts.yaml', ...readdirSync('examples').filter((f) => f.endsWith('.yaml')).map((f) => join('examples', f))];

describe('shipped inventories', () => {
  it('ships hosts.yaml and at least two example inventories', () => {
    expect(SHIPPED.length).to.be.at.least(3);
  });

  for (const file of SHIPPED) {
    it(`${file} parses`, async () => {
      const inv = await loadInventory(file);
      expect(inv.hosts.length).to.be.greaterThan(0);
    });
  }

  it('hosts.yaml works on any machine as shipped: one local host, never disposable', async () => {
    const inv = await loadInventory('hosts.yaml');
    expect(inv.hosts.map((h) => [h.name, h.id, h.disposable])).to.deep.equal([['localhost', 'local://localhost', false]]);
  });

  describe('the commented examples in hosts.yaml', () => {
    let home: string;
    let savedHome: string | undefined;

    before(() => {
      // They name ~/.ssh/id_ed25519, which must exist: give them a home where it does.
      home = mkdtempSync(join(tmpdir(), 'gauntlet-home-'));
      mkdirSync(join(home, '.ssh'));
      writeFileSync(join(home, '.ssh', 'id_ed25519'), 'placeholder\n');
      savedHome = process.env['HOME'];
      process.env['HOME'] = home;
    });

    after(() => {
      if (savedHome === undefined) delete process.env['HOME'];
      else process.env['HOME'] = savedHome;
      rmSync(home, { recursive: true, force: true });
    });

    it('parse once uncommented, and use every gauntlet variable and console kind', () => {
      // Example lines are "# " followed by indented YAML; prose lines have text straight after "# ".
      const text = readFileSync('hosts.yaml', 'utf8').replace(/^# (?= {2})/gm, '');
      const inv = parseInventory(text, 'hosts.yaml');
      expect(inv.hosts.length).to.be.greaterThan(4);
      const vars = new Set(inv.hosts.flatMap((h) => Object.keys(h.vars)));
      for (const name of [
        'gauntlet_jump',
        'gauntlet_known_hosts',
        'gauntlet_labels',
        'gauntlet_disposable',
        'gauntlet_console',
        'gauntlet_power_cycle',
        'ansible_ssh_private_key_file',
        'ansible_ssh_common_args',
      ]) {
        expect(vars, name).to.include(name);
      }
      expect(new Set(inv.hosts.map((h) => h.console?.kind).filter(Boolean))).to.deep.equal(new Set(['file', 'netconsole', 'command', 'qemu']));
      expect(inv.hosts.filter((h) => h.jump !== undefined).length).to.be.greaterThan(0);
    });
  });
});
