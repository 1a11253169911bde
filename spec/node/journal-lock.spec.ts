// One process per journal file: a lock file beside it names the holder; a second opener, in
// another process or this one, is refused with the holder's pid; a dead holder's lock is taken over.
import { expect } from 'chai';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs, {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { syncBuiltinESMExports } from 'node:module';
import { join, resolve } from 'node:path';
import {
  fileJournal,
  JournalError,
  JournalLockedError,
  type FileSessionJournal,
} from '../../lib/node/index.js';
import { thrown } from '../codec/arbitraries.js';

/** Forks a process that opens `path` as a journal and holds it; resolves once it has. */
async function holder(path: string): Promise<ChildProcess> {
  const child = fork('spec/node/fixtures/journal-holder.ts', [path], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [message] = (await once(child, 'message')) as [{ ready?: boolean }];
  expect(message.ready).to.equal(true);
  return child;
}

/** Kills `child` with SIGKILL and waits until it is reaped: its pid is then free. */
async function kill(child: ChildProcess): Promise<void> {
  const closed = once(child, 'close');
  child.kill('SIGKILL');
  await closed;
}

describe('fileJournal: one process per journal (its lock file)', () => {
  let dir = '';
  let path = '';
  const children: ChildProcess[] = [];
  const opened: FileSessionJournal[] = [];
  const open = (file: string) => {
    const journal = fileJournal(file);
    opened.push(journal);
    return journal;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lifeline-lock-'));
    path = join(dir, 'client.journal');
  });
  afterEach(async () => {
    for (const journal of opened.splice(0)) journal.close();
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) await kill(child);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a second process while the first holds the journal, naming its pid, and opens once it closed', async () => {
    const child = await holder(path);
    children.push(child);
    const error = thrown(() => fileJournal(path));
    expect(error).to.be.instanceOf(JournalLockedError).and.to.be.instanceOf(JournalError);
    const locked = error as JournalLockedError;
    expect(locked.reason).to.equal('busy');
    expect(locked.holder?.pid).to.equal(child.pid);
    expect(locked.lockPath).to.equal(`${path}.lock`);
    expect(locked.message)
      .to.include(`process ${child.pid}`)
      .and.to.include(path)
      .and.to.include('stop that process');
    const closed = once(child, 'message');
    child.send('close');
    expect(((await closed) as [{ closed?: boolean }])[0].closed).to.equal(true);
    await once(child, 'exit');
    expect(existsSync(`${path}.lock`), 'the holder removed its lock on close').to.equal(false);
    expect(open(path).restore()?.session).to.equal('a'.repeat(32));
  });

  it('takes over the lock of a process killed while holding it (SIGKILL), keeping what it wrote', async () => {
    const child = await holder(path);
    children.push(child);
    await kill(child);
    expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8')).pid, 'the lock outlived it').to.equal(child.pid);
    const journal = open(path);
    expect(journal.restore()?.session).to.equal('a'.repeat(32));
    expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8')).pid).to.equal(process.pid);
    journal.close();
    expect(existsSync(`${path}.lock`)).to.equal(false);
    expect(readdirSync(dir), 'no draft or guard left').to.deep.equal(['client.journal']);
  });

  it('refuses a second journal in this process with a JournalLockedError naming this pid', () => {
    open(path);
    const error = thrown(() => fileJournal(path)) as JournalLockedError;
    expect(JournalLockedError.is(error)).to.equal(true);
    expect(error.holder?.pid).to.equal(process.pid);
    expect(error.message).to.include('already open in this process');
  });

  it('takes over a lock naming this pid that this process does not hold (an earlier process had the pid)', () => {
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.pid, host: 'before' }));
    open(path).sent(1, 'x');
  });

  it('takes over a lock written before the machine booted, whatever its pid', function () {
    if (!existsSync('/proc/sys/kernel/random/boot_id')) this.skip(); // Linux only
    // The parent process is alive: only the boot id says the lock is dead.
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.ppid, host: 'h', boot: 'another-boot' }));
    open(path).sent(1, 'x');
  });

  it('refuses a lock naming a live process, and one it cannot read', () => {
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.ppid, host: 'elsewhere' }));
    const live = thrown(() => fileJournal(path)) as JournalLockedError;
    expect(live.holder).to.deep.equal({ pid: process.ppid, host: 'elsewhere' });
    expect(live.message).to.include(`process ${process.ppid} on elsewhere`);
    // Not JSON, or no pid a process can have (0 would name this process group to the signal probe).
    for (const content of ['not a lock', '{"pid":0,"host":"h"}', '{"pid":-1}', '{"pid":1.5}']) {
      writeFileSync(`${path}.lock`, content);
      const foreign = thrown(() => fileJournal(path)) as JournalLockedError;
      expect(foreign, content).to.be.instanceOf(JournalLockedError);
      expect(foreign.holder, content).to.equal(undefined);
      expect(foreign.message).to.include('did not write').and.to.include('remove that file');
      expect(readFileSync(`${path}.lock`, 'utf8'), 'a lock it does not own stays').to.equal(content);
    }
  });

  it("breaking a dead holder's lock, leaves alone the lock a live process took in the meantime", function () {
    if (!existsSync('/proc/sys/kernel/random/boot_id')) this.skip(); // Linux: both locks of this boot
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const lock = `${resolve(path)}.lock`;
    const live = JSON.stringify({ pid: process.ppid, host: 'h', boot });
    writeFileSync(lock, JSON.stringify({ pid: 2_147_483_646, host: 'h', boot })); // no such process
    // Between this process's first read of the lock and the one under its guard, another process
    // breaks the dead lock and takes the journal.
    const { readFileSync: read } = fs;
    let reads = 0;
    fs.readFileSync = ((file: string, options: never) => {
      const text = read(file, options);
      if (file === lock && ++reads === 1) writeFileSync(lock, live);
      return text;
    }) as typeof fs.readFileSync;
    syncBuiltinESMExports();
    let error: JournalLockedError;
    try {
      error = thrown(() => open(path)) as JournalLockedError;
    } finally {
      fs.readFileSync = read;
      syncBuiltinESMExports();
    }
    expect(JournalLockedError.is(error), String(error)).to.equal(true);
    expect(error.holder?.pid).to.equal(process.ppid);
    expect(readFileSync(lock, 'utf8'), 'the live lock stays').to.equal(live);
  });

  it('removes the guard of a process that died while breaking a stale lock, and takes the lock', async () => {
    const child = await holder(path);
    children.push(child);
    await kill(child);
    const dead = readFileSync(`${path}.lock`, 'utf8');
    writeFileSync(`${path}.lock.break`, dead);
    open(path);
    expect(existsSync(`${path}.lock.break`)).to.equal(false);
    expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8')).pid).to.equal(process.pid);
  });

  it('releases the lock when opening fails after taking it', () => {
    mkdirSync(path); // a directory where the file should be: opening it fails
    const error = thrown(() => fileJournal(path)) as JournalError;
    expect(error.reason).to.equal('io');
    expect(existsSync(`${path}.lock`)).to.equal(false);
  });

  it('leaves in place, on close, a lock that another process took over', () => {
    const journal = open(path);
    // An operator removed this lock by hand and another process took the file.
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.ppid, host: 'other' }));
    journal.close();
    expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8')).pid).to.equal(process.ppid);
  });
});
