import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { chooseAllocator, JEMALLOC_CONF, JEMALLOC_PATHS, launchEnv } from '../../../bin/node-settings.mjs';
import { skipWithout } from '../../support/tools.ts';

const run = promisify(execFile);
const DEBIAN = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';
const only =
  (...paths: string[]) =>
  (path: string) =>
    paths.includes(path);

describe('chooseAllocator: the malloc npm start gives the platform', () => {
  it('preloads jemalloc, returning freed pages at once, where it is installed', () => {
    // Act
    const allocator = chooseAllocator({
      env: {},
      platform: 'linux',
      exists: only('/usr/lib64/libjemalloc.so.2'),
    });

    // Assess
    expect(allocator).toEqual({
      name: 'jemalloc',
      env: {
        LD_PRELOAD: '/usr/lib64/libjemalloc.so.2',
        MALLOC_CONF: 'narenas:1,dirty_decay_ms:0,muzzy_decay_ms:0',
      },
      note: 'jemalloc (/usr/lib64/libjemalloc.so.2)',
    });
  });

  it("stays on glibc's malloc without it, and says what to install", () => {
    // Act
    const allocator = chooseAllocator({ env: {}, platform: 'linux', exists: only() });

    // Assess
    expect(allocator.name).toBe('glibc');
    expect(allocator.env).toEqual({});
    expect(allocator.note).toContain('apt-get install libjemalloc2');
  });

  it('fails with what to do when jemalloc is asked for and missing', () => {
    // Act
    const choose = () =>
      chooseAllocator({ env: { FLEETKIT_MALLOC: 'jemalloc' }, platform: 'linux', exists: only() });

    // Assess
    expect(choose).toThrow(
      /libjemalloc\.so\.2 is in none of .*apt-get install libjemalloc2.*or unset FLEETKIT_MALLOC/,
    );
  });

  it('refuses a choice it does not know, naming the ones it does', () => {
    expect(() => chooseAllocator({ env: { FLEETKIT_MALLOC: 'tcmalloc' }, platform: 'linux' })).toThrow(
      'FLEETKIT_MALLOC=tcmalloc is not a choice: use auto, jemalloc or system',
    );
  });

  it.each([
    {
      when: 'told to keep the system malloc, with jemalloc installed',
      env: { FLEETKIT_MALLOC: 'system' },
      platform: 'linux',
      name: 'glibc',
    },
    {
      when: 'the caller preloads a library itself',
      env: { LD_PRELOAD: '/opt/x.so' },
      platform: 'linux',
      name: 'preloaded',
    },
    { when: 'off Linux', env: {}, platform: 'darwin', name: 'system' },
  ])('adds nothing to the environment when $when ($name)', ({ env, platform, name }) => {
    // Act
    const allocator = chooseAllocator({ env, platform, exists: () => true });

    // Assess
    expect(allocator).toMatchObject({ name, env: {} });
  });

  it("puts the caller's own values over the settings, and the note for the banner", () => {
    // Act
    const env = launchEnv(
      { MALLOC_ARENA_MAX: '4', PATH: '/bin' },
      chooseAllocator({ env: {}, platform: 'linux', exists: only(DEBIAN) }),
    );

    // Assess
    expect(env).toMatchObject({
      MALLOC_ARENA_MAX: '4',
      MALLOC_MMAP_THRESHOLD_: '65536',
      LD_PRELOAD: DEBIAN,
      MALLOC_CONF: JEMALLOC_CONF,
      PATH: '/bin',
      FLEETKIT_MALLOC_NOTE: `jemalloc (${DEBIAN})`,
    });
  });
});

describe.skipIf(skipWithout('jemalloc'))('the preloaded jemalloc (libjemalloc2)', () => {
  it('is the malloc of a process started with launchEnv, and takes MALLOC_CONF without a complaint', async () => {
    // Prepare
    const env = launchEnv({ PATH: process.env.PATH });
    const script = `
      const maps = require('node:fs').readFileSync('/proc/self/maps', 'utf8');
      Buffer.alloc(1 << 20).fill(1);
      process.stdout.write(JSON.stringify({ jemalloc: maps.includes('libjemalloc.so.2') }));`;

    // Act
    const { stdout, stderr } = await run(process.execPath, ['-e', script], { env });

    // Assess
    expect(JSON.parse(stdout)).toEqual({ jemalloc: true });
    // jemalloc writes "<jemalloc>: Invalid conf pair" (and the like) to stderr for a setting it does not take.
    expect(stderr).toBe('');
    expect(JEMALLOC_PATHS).toContain(env.LD_PRELOAD);
  });
});
