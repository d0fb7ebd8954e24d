// The systemd unit cannot run here (the test hosts have no systemd): its text is checked, and
// every remote script is syntax-checked by the POSIX shell the machines run (dash).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { INSTALL, PROBE, PROBE_AND_LOCK, RESTART } from './provision.js';
import { AGENT_FUNCTIONS, SUPERVISOR, SYSTEMD_UNIT, agentService } from './service.js';

describe('the node agent service', () => {
  it('is a systemd unit only where systemd runs and we are root', () => {
    expect(agentService({ systemd: true, uid: 0 })).toBe('systemd');
    expect(agentService({ systemd: true, uid: 1000 })).toBe('restart-loop');
    expect(agentService({ systemd: false, uid: 0 })).toBe('restart-loop');
    expect(agentService({ systemd: true, uid: undefined })).toBe('restart-loop');
  });

  it('the unit runs the current version for the town of its instance, restarts it, spares its sessions', () => {
    const lines = SYSTEMD_UNIT.split('\n');
    expect(lines).toContain(
      'ExecStart="%f/.gt/current/node" "%f/.gt/current/agent.mjs" --town "%f" --machine "${GT_MACHINE}"',
    );
    expect(lines).toContain('EnvironmentFile=%f/.gt/agent.env');
    expect(lines).toContain('Restart=always');
    expect(lines).toContain('RestartSec=1');
    // Restarting the agent must not kill the tmux server and polecats it started.
    expect(lines).toContain('KillMode=process');
    expect(lines).toContain('StandardOutput=append:%f/run/node-agent.log');
    expect(lines).toContain('StandardError=append:%f/run/node-agent.log');
    expect(lines).toContain('WantedBy=multi-user.target');
    expect(SYSTEMD_UNIT.match(/^\[(Unit|Service|Install)\]$/gm)).toEqual([
      '[Unit]',
      '[Service]',
      '[Install]',
    ]);
    // The installing script writes the unit through a quoted here-document, byte for byte.
    expect(AGENT_FUNCTIONS).toContain(`<<'GT_UNIT_END'`);
    expect(AGENT_FUNCTIONS).toContain(`\n${SYSTEMD_UNIT}GT_UNIT_END\n`);
  });

  it('every remote script parses in dash; the probe goes on to the lock', () => {
    expect(PROBE_AND_LOCK).toContain('provision.lock');
    expect(PROBE_AND_LOCK).toContain('echo uptodate; exit 0;');
    for (const script of [PROBE, PROBE_AND_LOCK, RESTART, INSTALL, SUPERVISOR])
      expect(() => execFileSync('dash', ['-n', '-c', script], { stdio: 'pipe' })).not.toThrow();
  });
});
