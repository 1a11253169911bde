import { expect } from 'chai';
import path from 'node:path';
import {
  decide,
  main,
  missingPackages,
  onPath,
  SYSTEM_PACKAGES,
  type SystemPackage,
} from '../../scripts/system-deps.js';

const CHROMIUM: SystemPackage = { apt: 'chromium', path: '/usr/bin/chromium', neededBy: 'the browser test' };
const REDIS: SystemPackage = {
  apt: 'redis-server',
  command: 'redis-server',
  neededBy: 'the Redis store tests',
};
const BIN = ['/usr/local/bin', '/usr/bin'].join(path.delimiter);

/** An `exists` that sees only the given files. */
const only =
  (...files: string[]) =>
  (file: string) =>
    files.includes(file);

describe('scripts/system-deps (what `npm test` needs from the system)', () => {
  it('lists chromium at /usr/bin/chromium, the path the browser test launches', () => {
    expect(SYSTEM_PACKAGES.map((entry) => [entry.apt, entry.path])).to.deep.include([
      'chromium',
      '/usr/bin/chromium',
    ]);
  });

  describe('missingPackages', () => {
    it('checks a path as it is and looks a command up on PATH', () => {
      const exists = only('/usr/bin/chromium', '/usr/bin/redis-server');
      expect(missingPackages([CHROMIUM, REDIS], { exists, searchPath: BIN })).to.deep.equal([]);
      expect(missingPackages([CHROMIUM, REDIS], { exists: only(), searchPath: BIN })).to.deep.equal([
        CHROMIUM,
        REDIS,
      ]);
      expect(
        missingPackages([CHROMIUM, REDIS], { exists: only('/usr/local/bin/redis-server'), searchPath: BIN }),
      ).to.deep.equal([CHROMIUM]);
    });

    it('does not find a command in an empty PATH', () => {
      expect(onPath('redis-server', '', () => true)).to.equal(false);
    });
  });

  describe('decide', () => {
    it('does nothing when everything is present', () => {
      expect(decide([], { isRoot: false, hasAptGet: false })).to.deep.equal({ action: 'none' });
    });

    it('installs what is missing with apt-get when root on a system with apt-get', () => {
      expect(decide([CHROMIUM, REDIS], { isRoot: true, hasAptGet: true })).to.deep.equal({
        action: 'install',
        commands: [
          ['apt-get', 'update'],
          ['apt-get', 'install', '-y', 'chromium', 'redis-server'],
        ],
      });
    });

    it('stops, naming the command to run, when not root', () => {
      const decision = decide([CHROMIUM], { isRoot: false, hasAptGet: true });
      expect(decision.action).to.equal('stop');
      if (decision.action !== 'stop') return;
      expect(decision.message).to.include('/usr/bin/chromium (for the browser test)');
      expect(decision.message).to.include('sudo apt-get update && sudo apt-get install -y chromium');
    });

    it('stops, naming the packages, on a system without apt-get, even as root', () => {
      const decision = decide([CHROMIUM, REDIS], { isRoot: true, hasAptGet: false });
      expect(decision.action).to.equal('stop');
      if (decision.action !== 'stop') return;
      expect(decision.message).to.include('redis-server (for the Redis store tests)');
      expect(decision.message).to.include("your system's package manager");
      expect(decision.message).to.include('chromium redis-server');
    });
  });

  describe('main', () => {
    it('runs nothing and exits 0 when everything is present', () => {
      const ran: string[][] = [];
      const code = main({
        packages: [CHROMIUM],
        exists: only('/usr/bin/chromium'),
        isRoot: true,
        hasAptGet: true,
        run: (command) => (ran.push(command), 0),
        log: () => {},
      });
      expect([code, ran]).to.deep.equal([0, []]);
    });

    it('installs as root and exits 0 once the program is there', () => {
      const installed: string[] = [];
      const ran: string[][] = [];
      const code = main({
        packages: [CHROMIUM],
        exists: (file) => installed.includes(file),
        isRoot: true,
        hasAptGet: true,
        run: (command) => {
          ran.push(command);
          if (command[1] === 'install') installed.push('/usr/bin/chromium');
          return 0;
        },
        log: () => {},
      });
      expect(code).to.equal(0);
      expect(ran).to.deep.equal([
        ['apt-get', 'update'],
        ['apt-get', 'install', '-y', 'chromium'],
      ]);
    });

    it('exits 1 when apt-get fails, or the program is still missing after it', () => {
      const logs: string[] = [];
      const failing = main({
        packages: [CHROMIUM],
        exists: only(),
        isRoot: true,
        hasAptGet: true,
        run: (command) => (command[1] === 'update' ? 100 : 0),
        log: (line) => logs.push(line),
      });
      const stillMissing = main({
        packages: [CHROMIUM],
        exists: only(),
        isRoot: true,
        hasAptGet: true,
        run: () => 0,
        log: (line) => logs.push(line),
      });
      expect([failing, stillMissing]).to.deep.equal([1, 1]);
      expect(logs).to.include('system-deps: `apt-get update` exited with 100');
      expect(logs).to.include('system-deps: still missing after the install: /usr/bin/chromium');
    });

    it('installs nothing and exits 1 with the message when not root', () => {
      const logs: string[] = [];
      const ran: string[][] = [];
      const code = main({
        packages: [CHROMIUM],
        exists: only(),
        isRoot: false,
        hasAptGet: true,
        run: (command) => (ran.push(command), 0),
        log: (line) => logs.push(line),
      });
      expect([code, ran]).to.deep.equal([1, []]);
      expect(logs.join('\n')).to.include('sudo apt-get install -y chromium');
    });
  });
});
