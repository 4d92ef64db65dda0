// The soft-lockup module builder's pure helpers, on real apt-cache output, kernel .config lines and Makefiles
// from Debian's 6.1 and 6.12 header packages (captured on a Debian 12 runner).

import { expect } from 'chai';
import {
  parseAptStanza,
  parseCompilerVersionText,
  parseDepends,
  readKconfigValue,
  readVermagic,
  repointFlavourMakefile,
  selectHeaderDependencies,
} from '../../src/lab/kernel-module.js';
import { GauntletError } from '../../src/model/index.js';

/** `apt-cache show --no-all-versions linux-headers-6.1.0-56-amd64` (first lines). */
const APT_SHOW_6_1 = `Package: linux-headers-6.1.0-56-amd64
Source: linux
Version: 6.1.192-2
Installed-Size: 4150
Maintainer: Debian Kernel Team <debian-kernel@lists.debian.org>
Architecture: amd64
Depends: linux-headers-6.1.0-56-common (= 6.1.192-2), linux-kbuild-6.1 (>= 6.1.192-2), linux-compiler-gcc-12-x86
Description: Header files for Linux 6.1.0-56-amd64
Description-md5: 74167913af5ca759d76a8410f6662558
Homepage: https://www.kernel.org/
Section: kernel
Priority: optional
Filename: pool/updates/main/l/linux/linux-headers-6.1.0-56-amd64_6.1.192-2_amd64.deb
Size: 1841552

`;

/** The same for the 6.12 backport: an alternative in Depends, kbuild named after the whole release, gcc-12. */
const APT_SHOW_6_12 = `Package: linux-headers-6.12.117+deb12-amd64
Source: linux-6.12
Version: 6.12.117-1~deb12u1
Installed-Size: 10256
Maintainer: Debian Kernel Team <debian-kernel@lists.debian.org>
Architecture: amd64
Depends: linux-base (>= 4.12~), linux-headers-6.12.117+deb12-common (= 6.12.117-1~deb12u1), linux-image-6.12.117+deb12-amd64 (= 6.12.117-1~deb12u1) | linux-image-6.12.117+deb12-amd64-unsigned (= 6.12.117-1~deb12u1), linux-kbuild-6.12.117+deb12, gcc-12
Description: Header files for Linux 6.12.117+deb12-amd64
`;

describe('soft-lockup module builder: helpers', () => {
  describe('parseAptStanza', () => {
    it('reads the first stanza\'s fields', () => {
      const fields = parseAptStanza(APT_SHOW_6_1);
      expect(fields.Package).to.equal('linux-headers-6.1.0-56-amd64');
      expect(fields.Version).to.equal('6.1.192-2');
      expect(fields.Depends).to.equal('linux-headers-6.1.0-56-common (= 6.1.192-2), linux-kbuild-6.1 (>= 6.1.192-2), linux-compiler-gcc-12-x86');
    });

    it('stops at the blank line before a second stanza and joins continuation lines', () => {
      const fields = parseAptStanza('Package: a\nVersion: 1\nDescription: short\n long text\n\nPackage: b\nVersion: 2\n');
      expect(fields).to.deep.equal({ Package: 'a', Version: '1', Description: 'short long text' });
    });
  });

  describe('parseDepends and selectHeaderDependencies', () => {
    it('finds the common headers (pinned) and kbuild of a 6.1 flavour', () => {
      const depends = parseDepends(parseAptStanza(APT_SHOW_6_1).Depends!);
      expect(depends).to.deep.equal([
        { name: 'linux-headers-6.1.0-56-common', relation: '=', version: '6.1.192-2' },
        { name: 'linux-kbuild-6.1', relation: '>=', version: '6.1.192-2' },
        { name: 'linux-compiler-gcc-12-x86' },
      ]);
      const { common, kbuild } = selectHeaderDependencies('linux-headers-6.1.0-56-amd64', depends);
      expect(common.name).to.equal('linux-headers-6.1.0-56-common');
      expect(kbuild.name).to.equal('linux-kbuild-6.1');
    });

    it('takes the first alternative and finds 6.12\'s per-release kbuild', () => {
      const depends = parseDepends(parseAptStanza(APT_SHOW_6_12).Depends!);
      expect(depends.map((dep) => dep.name)).to.deep.equal([
        'linux-base',
        'linux-headers-6.12.117+deb12-common',
        'linux-image-6.12.117+deb12-amd64',
        'linux-kbuild-6.12.117+deb12',
        'gcc-12',
      ]);
      const { common, kbuild } = selectHeaderDependencies('linux-headers-6.12.117+deb12-amd64', depends);
      expect(common).to.deep.equal({ name: 'linux-headers-6.12.117+deb12-common', relation: '=', version: '6.12.117-1~deb12u1' });
      expect(kbuild).to.deep.equal({ name: 'linux-kbuild-6.12.117+deb12' });
    });

    it('accepts the rt flavour\'s common-rt headers', () => {
      const depends = parseDepends('linux-headers-6.1.0-56-common-rt (= 6.1.192-2), linux-kbuild-6.1 (>= 6.1.192-2), linux-compiler-gcc-12-x86');
      expect(selectHeaderDependencies('linux-headers-6.1.0-56-rt-amd64', depends).common.name).to.equal('linux-headers-6.1.0-56-common-rt');
    });

    it('names the package whose Depends lack the common headers or kbuild', () => {
      expect(() => selectHeaderDependencies('linux-headers-x', parseDepends('linux-base, gcc-12')))
        .to.throw(GauntletError, 'linux-headers-x: expected Depends on linux-headers-*-common and linux-kbuild-*, got linux-base, gcc-12');
    });
  });

  describe('repointFlavourMakefile', () => {
    const ROOT = '/home/ops/.cache/gauntlet/lab/headers/6.1.0-56-amd64';

    it('points Debian\'s absolute include at the unpacked common headers', () => {
      expect(repointFlavourMakefile('include /usr/src/linux-headers-6.1.0-56-common/Makefile\n', ROOT)).to.equal(
        `include ${ROOT}/usr/src/linux-headers-6.1.0-56-common/Makefile\n`,
      );
    });

    it('leaves a Makefile already pointing there as it is, and re-points one pointing at a moved cache', () => {
      const fixed = `include ${ROOT}/usr/src/linux-headers-6.12.117+deb12-common/Makefile\n`;
      expect(repointFlavourMakefile(fixed, ROOT)).to.equal(fixed);
      expect(repointFlavourMakefile('include /old/cache/headers/6.1.0-56-amd64/usr/src/linux-headers-6.1.0-56-common/Makefile\n', ROOT)).to.equal(
        `include ${ROOT}/usr/src/linux-headers-6.1.0-56-common/Makefile\n`,
      );
    });

    it('refuses a Makefile without such an include', () => {
      expect(() => repointFlavourMakefile('obj-m := x.o\n', ROOT)).to.throw(GauntletError, 'expected a line "include /usr/src/<common headers>/Makefile"');
    });
  });

  describe('kernel .config and compiler', () => {
    const CONFIG_6_12 = [
      '# Compiler: x86_64-linux-gnu-gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0',
      'CONFIG_CC_VERSION_TEXT="x86_64-linux-gnu-gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0"',
      'CONFIG_PAHOLE_VERSION=124',
      'CONFIG_DEBUG_INFO_BTF_MODULES=y',
      '# CONFIG_VIDEO_SONY_BTF_MPX is not set',
    ].join('\n');

    it('reads quoted and plain values, and null for unset options', () => {
      expect(readKconfigValue(CONFIG_6_12, 'CONFIG_CC_VERSION_TEXT')).to.equal('x86_64-linux-gnu-gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0');
      expect(readKconfigValue(CONFIG_6_12, 'CONFIG_DEBUG_INFO_BTF_MODULES')).to.equal('y');
      expect(readKconfigValue(CONFIG_6_12, 'CONFIG_VIDEO_SONY_BTF_MPX')).to.equal(null);
      expect(readKconfigValue(CONFIG_6_12, 'CONFIG_PAHOLE')).to.equal(null);
    });

    it('names the compiler command and major version the kernel was built with', () => {
      expect(parseCompilerVersionText('gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0')).to.deep.equal({ command: 'gcc-12', major: '12' });
      expect(parseCompilerVersionText('x86_64-linux-gnu-gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0')).to.deep.equal({ command: 'x86_64-linux-gnu-gcc-12', major: '12' });
      expect(parseCompilerVersionText('x86_64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0')).to.deep.equal({ command: 'x86_64-linux-gnu-gcc-14', major: '14' });
      expect(parseCompilerVersionText('')).to.equal(null);
    });
  });

  describe('readVermagic', () => {
    it('reads the vermagic string of a module\'s .modinfo', () => {
      const modinfo = Buffer.from('\x7fELF\0\0license=GPL\0vermagic=6.12.117+deb12-amd64 SMP preempt mod_unload modversions \0name=gauntlet_softlockup\0');
      expect(readVermagic(modinfo)).to.equal('6.12.117+deb12-amd64 SMP preempt mod_unload modversions ');
    });

    it('is null for a file without one', () => {
      expect(readVermagic(Buffer.from('\x7fELF\0\0license=GPL\0'))).to.equal(null);
    });
  });
});
