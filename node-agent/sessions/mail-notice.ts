/**
 * The one-line mail notice typed into a recipient's live session (`[gt mail] … (gt mail read
 * <id>)`): for mail that wants one (mail/message.ts wantsSessionNotice), from `gt send` (the mail
 * service) and from the plugin hook points, which append to the inbox directly.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sessionNoticeText, wantsSessionNotice, type MailMessage } from '../mail/index.js';
import { placeAgent, townTmux } from './agent-home.js';

/**
 * Type the notice for `message` into its recipient's session when the message wants one and the
 * session is live. Returns whether it was typed; a typing failure throws (the mail itself is in
 * the inbox already: callers log it or let it go).
 */
export async function typeMailNotice(
  townRoot: string,
  message: MailMessage,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<boolean> {
  if (!wantsSessionNotice(message)) return false;
  let session: string;
  try {
    session = placeAgent(townRoot, message.to).session;
  } catch {
    return false; // the overseer has no session; an agent without a home has none either
  }
  // No socket, no tmux server, no live session: skip spawning tmux (hook mail is on hot paths).
  if (!existsSync(join(townRoot, 'run', 'tmux.sock'))) return false;
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  const tmux = townTmux(townRoot);
  if (!(await tmux.hasSession(session, signal))) return false;
  await tmux.typeText(session, sessionNoticeText(message), signal);
  return true;
}
