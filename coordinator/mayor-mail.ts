/** The coordinator's own escalations (a machine lost, a lost machine's work reassigned) to the Mayor. */
import { newMailId } from '../proto/index.js';
import type { MachineRegistry } from './machines.js';

/** One high-priority escalation into the Mayor's inbox on the coordinator's machine `home`. */
export async function escalateToMayor(
  registry: MachineRegistry,
  home: string,
  mail: { subject: string; body: string },
): Promise<void> {
  await (
    await registry.connect(home)
  ).client.deliverMail({
    message: {
      id: newMailId(),
      from: 'overseer',
      to: 'mayor',
      subject: mail.subject,
      body: mail.body,
      createdAt: new Date().toISOString(),
      priority: 'high',
      type: 'escalation',
      threadId: '',
      replyTo: '',
      read: false,
    },
  });
}
