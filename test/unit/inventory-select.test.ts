// selectHosts: Ansible --limit patterns (names, groups, globs, ~regex, subscripts, & and !) over an inventory.
import { expect } from 'chai';

import { parseInventory, selectHosts } from '../../src/inventory/index.js';
import { GauntletError, type Inventory } from '../../src/model/index.js';

const INVENTORY = `
all:
  hosts:
    localhost: {ansible_connection: local}
  children:
    web:
      hosts:
        web1:
        web2:
      children:
        web_eu:
          hosts:
            web3:
    db:
      hosts:
        db1:
        db2:
    eu:
      hosts:
        db2:
        web3:
`;

describe('selectHosts', () => {
  let inv: Inventory;
  const names = (limit: string | undefined): string[] => selectHosts(inv, limit).map((h) => h.name);

  function usageError(limit: string): string {
    try {
      selectHosts(inv, limit);
    } catch (err) {
      expect(err).to.be.instanceOf(GauntletError);
      expect((err as GauntletError).code).to.equal('USAGE');
      return (err as GauntletError).message;
    }
    throw new Error(`expected limit ${limit} to be refused`);
  }

  before(() => {
    inv = parseInventory(INVENTORY, 'hosts.yaml', { baseDir: '/srv/inv' });
  });

  it('selects every host without a limit, in file order', () => {
    expect(names(undefined)).to.deep.equal(['localhost', 'web1', 'web2', 'web3', 'db1', 'db2']);
    expect(names('all')).to.deep.equal(['localhost', 'web1', 'web2', 'web3', 'db1', 'db2']);
    expect(names('*')).to.deep.equal(['localhost', 'web1', 'web2', 'web3', 'db1', 'db2']);
  });

  it('selects hosts and groups by name, keeping inventory order whatever the term order', () => {
    expect(names('db2,web1')).to.deep.equal(['web1', 'db2']);
    expect(names('web')).to.deep.equal(['web1', 'web2', 'web3']);
    expect(names('web_eu:db1')).to.deep.equal(['web3', 'db1']);
    expect(names(' db1 , db1 ')).to.deep.equal(['db1']);
    expect(names('ungrouped')).to.deep.equal(['localhost']);
  });

  it('matches globs against host and group names', () => {
    expect(names('web*')).to.deep.equal(['web1', 'web2', 'web3']);
    expect(names('*2')).to.deep.equal(['web2', 'db2']);
    expect(names('db?')).to.deep.equal(['db1', 'db2']);
    expect(names('web_e*')).to.deep.equal(['web3']);
  });

  it('matches ~regex from the start of the name', () => {
    expect(names('~(web|db)1')).to.deep.equal(['web1', 'db1']);
    expect(names('~.*2$')).to.deep.equal(['web2', 'db2']);
    expect(names('~web_')).to.deep.equal(['web3']);
    expect(usageError('~eb')).to.equal('limit term "~eb" matches no host or group; close names: db, eu, web');
  });

  it('excludes with ! and intersects with &, after the plain terms, in any order', () => {
    expect(names('web:!web2')).to.deep.equal(['web1', 'web3']);
    expect(names('!web2,web')).to.deep.equal(['web1', 'web3']);
    expect(names('web:&eu')).to.deep.equal(['web3']);
    expect(names('&eu,web,db')).to.deep.equal(['web3', 'db2']);
    expect(names('!web')).to.deep.equal(['localhost', 'db1', 'db2']);
    expect(names('all:!~web.*:!localhost')).to.deep.equal(['db1', 'db2']);
  });

  it('takes subscripts of a group, the end included', () => {
    expect(names('web[0]')).to.deep.equal(['web1']);
    expect(names('web[-1]')).to.deep.equal(['web3']);
    expect(names('web[1:2]')).to.deep.equal(['web2', 'web3']);
    expect(names('web[:1]')).to.deep.equal(['web1', 'web2']);
    expect(names('all[1:]:!db*')).to.deep.equal(['web1', 'web2', 'web3']);
  });

  it('refuses a term that matches nothing and names close ones', () => {
    expect(usageError('web9')).to.equal('limit term "web9" matches no host or group; close names: web, web1, web2, web3');
    expect(usageError('db1,wbe')).to.equal('limit term "wbe" matches no host or group; close names: web');
    expect(usageError('nothing-like-it')).to.equal('limit term "nothing-like-it" matches no host or group; groups: all, web, web_eu, db, eu, ungrouped');
  });

  it('refuses an exclusion or intersection that matches nothing, so a typo never widens a run', () => {
    expect(usageError('all:!db3')).to.equal('limit term "db3" matches no host or group; close names: db, db1, db2');
    expect(usageError('web:&ue')).to.equal('limit term "ue" matches no host or group; close names: eu');
  });

  it('refuses a limit that selects no hosts', () => {
    expect(usageError('web:&db')).to.equal('limit "web:&db" selects no hosts');
    expect(usageError('db:!db1:!db2')).to.equal('limit "db:!db1:!db2" selects no hosts');
  });

  it('refuses an empty limit rather than selecting everything', () => {
    expect(usageError('')).to.equal('limit "" has no host or group pattern');
    expect(usageError(' , ')).to.equal('limit " , " has no host or group pattern');
  });

  it('refuses out-of-range subscripts, bad regexes and @files', () => {
    expect(usageError('web[7]')).to.equal('limit term "web[7]" selects no host; web has 3 (web[0] to web[2])');
    expect(usageError('~web(')).to.match(/^limit term "~web\(": invalid regular expression \(/);
    expect(usageError('@retry.txt')).to.equal('limit term "@retry.txt": limit files (@file) are not supported; list the hosts');
  });

  it('keeps an IPv6 host name whole', () => {
    const v6 = parseInventory('all:\n  hosts:\n    "fe80::1":\n    "fe80::2":\n', 'hosts.yaml', { baseDir: '/srv/inv' });
    expect(selectHosts(v6, 'fe80::2').map((h) => h.name)).to.deep.equal(['fe80::2']);
  });
});
