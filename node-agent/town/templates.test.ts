import { describe, expect, it } from 'vitest';
import { rolePrompt, type TemplateRole } from './templates.js';

const facts = { town: 'gt', rig: 'wyvern', name: 'Nux', prefix: 'wyv' };

describe('role prompts', () => {
  const expectations: Record<TemplateRole, string[]> = {
    mayor: ['You are the Mayor of town "gt"', 'gt spawn --issue', 'NOT your job', 'Witness owns'],
    'rig-mayor': ['rig "wyvern"', 'prefix `wyv`', 'bd create'],
    witness: ['Witness of rig "wyvern"', 'Pre-kill verification', 'gt kill', 'escalate once'],
    refinery: ['Refinery of rig "wyvern"', 'authoritative main clone', 'git push origin main'],
    polecat: ['polecat "Nux" in rig "wyvern"', 'Decommission checklist', 'gt send wyvern/witness'],
    plugin: ['plugin "Nux" in rig "wyvern"', 'gt send wyvern/plugins/Nux'],
  };
  for (const [role, phrases] of Object.entries(expectations)) {
    it(`${role} names its duties and commands`, () => {
      const text = rolePrompt(role as TemplateRole, facts);
      for (const phrase of phrases) expect(text).toContain(phrase);
      expect(text).toContain('BEADS_DIR');
      expect(text).toContain('gt prime');
      expect(text).toContain('mail a handoff note to yourself');
    });
  }
});
