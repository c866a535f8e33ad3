import { describe, expect, it } from 'vitest';
import { REBOOT_ALERT, rebootAlerts } from '../../../../lambdas/domain/fleet/reboot.ts';

const at = (lastSeen: number, uptimeSeconds?: number) => ({
  deviceId: 'trk-1',
  deviceType: 'tracker',
  lastSeen,
  ...(uptimeSeconds === undefined ? {} : { uptimeSeconds }),
});

describe('rebootAlerts', () => {
  it.each([
    ['the first status ever', undefined, at(2000, 5), 0],
    ['uptime growing', at(1000, 100), at(2000, 160), 0],
    ['no uptime before', at(1000), at(2000, 5), 0],
    ['no uptime now', at(1000, 100), at(2000), 0],
    ['uptime went backwards: a reboot', at(1000, 100), at(2000, 5), 2],
    ['equal uptime (a repeated message)', at(1000, 100), at(2000, 100), 0],
    ['an older message arriving late', at(2000, 100), at(1000, 5), 0],
  ])('%s', (_case, before, after, edges) => {
    // Act
    const alerts = rebootAlerts(before, after);
    // Assess
    expect(alerts).toHaveLength(edges);
  });

  it('raises and clears at once, with the uptimes as value and threshold, keyed for idempotent writes', () => {
    // Act
    const [raised, cleared] = rebootAlerts(at(1000, 100), at(2000, 5));
    // Assess
    expect(raised).toMatchObject({
      type: REBOOT_ALERT,
      state: 'raised',
      value: 5,
      threshold: 100,
      at: 2000,
      id: 'trk-1/reboot/2000',
      severity: 'info',
    });
    expect(cleared).toMatchObject({ state: 'cleared', id: raised?.id, at: 2000 });
  });
});
