import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXECUTIONS_FILE, FileExecutionStore } from '../../../../edge/src/commands/execution-store.ts';
import { ManualClock } from '../uplink/support.ts';
import { removeDirs, tempDir } from './support.ts';

afterEach(removeDirs);

describe('FileExecutionStore', () => {
  it('keeps what it was told across a reopen, with fsync', async () => {
    // Arrange
    const directory = await tempDir();
    const clock = new ManualClock();
    const store = await FileExecutionStore.open({ directory, clock, fsync: 'always' });

    // Act
    await store.begin('a', 'ping', clock.now() + 1_000);
    await store.finish('a');
    await store.begin('b', 'reboot', clock.now() + 1_000);
    const reopened = await FileExecutionStore.open({ directory, clock });

    // Assess
    expect(reopened.get('a')).toMatchObject({ name: 'ping', state: 'done' });
    expect(reopened.unfinished()).toEqual([
      ['b', expect.objectContaining({ name: 'reboot', state: 'started' })],
    ]);
  });

  it('forgets finished executions a day past their expiry, never a started one', async () => {
    // Arrange
    const directory = await tempDir();
    const clock = new ManualClock();
    const store = await FileExecutionStore.open({ directory, clock, fsync: 'never' });
    await store.begin('old', 'ping', clock.now() + 1_000);
    await store.finish('old');
    await store.begin('running', 'diagnostics', clock.now() + 1_000);

    // Act
    clock.advance(1_000 + 86_400_000 + 1);
    await store.begin('new', 'ping', clock.now() + 1_000);

    // Assess
    const onDisk = JSON.parse(await readFile(join(directory, EXECUTIONS_FILE), 'utf8'));
    expect(Object.keys(onDisk.executions).sort()).toEqual(['new', 'running']);
    expect(store.get('old')).toBeUndefined();
  });

  it('keeps at most its cap of finished executions, forgetting the oldest, never a started one', async () => {
    // Arrange
    const directory = await tempDir();
    const clock = new ManualClock();
    const store = await FileExecutionStore.open({ directory, clock, fsync: 'never', maxRecords: 2 });
    await store.begin('running', 'diagnostics', clock.now() + 60_000);

    // Act
    for (const id of ['n1', 'n2', 'n3']) {
      clock.advance(1);
      await store.begin(id, 'ping', clock.now() + 60_000);
      await store.finish(id);
    }

    // Assess
    const onDisk = JSON.parse(await readFile(join(directory, EXECUTIONS_FILE), 'utf8'));
    expect(Object.keys(onDisk.executions).sort()).toEqual(['n2', 'n3', 'running']);
  });

  it('starts empty, and says so, when its file is damaged', async () => {
    // Arrange
    const directory = await tempDir();
    await writeFile(join(directory, EXECUTIONS_FILE), '{"version":1,"executions":{"a":{"name":');
    const logged: string[] = [];

    // Act
    const store = await FileExecutionStore.open({
      directory,
      clock: new ManualClock(),
      log: (event) => logged.push(event),
    });

    // Assess
    expect(store.size).toBe(0);
    expect(logged).toEqual(['command-store-corrupt']);
  });
});
