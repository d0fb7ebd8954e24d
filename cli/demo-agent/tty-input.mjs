// Terminal input for scripted test agents, as a real TUI agent reads it: raw mode, bracketed
// paste enabled, Enter (CR or LF outside a paste) submits the current input, text inside a
// paste is literal (newlines included), typed characters are echoed so the pane shows them.
import { StringDecoder } from 'node:string_decoder';

const PASTE_START = '\x1b[200~';
const PASTE_END = '\x1b[201~';

/** Longest suffix of `text` that is a proper prefix of `marker` (a marker split across reads). */
function partialMarker(text, marker) {
  for (let n = Math.min(marker.length - 1, text.length); n > 0; n--) {
    if (marker.startsWith(text.slice(-n))) return n;
  }
  return 0;
}

/**
 * Start reading. `onSubmit(text)` gets each submitted input; `onKey(name)` gets control keys
 * (`C-c`, `C-d`). `onRaw(buffer)` sees every byte read. `acceptEnter()` returning false drops
 * that Enter silently. Returns { stop }.
 */
export function readSubmissions({
  onSubmit,
  onKey = () => {},
  onRaw = () => {},
  echo = true,
  acceptEnter = () => true,
}) {
  const input = process.stdin;
  const out = process.stdout;
  if (input.isTTY) input.setRawMode(true);
  out.write('\x1b[?2004h'); // ask the terminal for bracketed paste
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let current = '';
  let inPaste = false;
  const show = (s) => {
    if (echo) out.write(s.replace(/\r?\n|\r/g, '\r\n'));
  };
  const submit = () => {
    if (!acceptEnter()) return; // a lost Enter, as slow agents do (tests the retry)
    const text = current;
    current = '';
    out.write('\r\n');
    onSubmit(text);
  };
  const consume = () => {
    for (;;) {
      if (inPaste) {
        const end = pending.indexOf(PASTE_END);
        if (end === -1) {
          const keep = partialMarker(pending, PASTE_END);
          const take = pending.slice(0, pending.length - keep);
          current += take;
          show(take);
          pending = pending.slice(pending.length - keep);
          return;
        }
        current += pending.slice(0, end);
        show(pending.slice(0, end));
        pending = pending.slice(end + PASTE_END.length);
        inPaste = false;
        continue;
      }
      if (pending.length === 0) return;
      if (pending.startsWith(PASTE_START)) {
        pending = pending.slice(PASTE_START.length);
        inPaste = true;
        continue;
      }
      if (PASTE_START.startsWith(pending)) return; // maybe a marker cut in two: wait
      const ch = String.fromCodePoint(pending.codePointAt(0));
      pending = pending.slice(ch.length);
      if (ch === '\r' || ch === '\n') submit();
      else if (ch === '\x03') {
        current = '';
        onKey('C-c');
      } else if (ch === '\x04') onKey('C-d');
      else if (ch === '\x7f') {
        current = [...current].slice(0, -1).join('');
        if (echo) out.write('\b \b');
      } else {
        current += ch;
        show(ch);
      }
    }
  };
  const onData = (buf) => {
    onRaw(buf);
    pending += decoder.write(buf);
    consume();
  };
  input.on('data', onData);
  input.resume();
  return {
    stop() {
      input.off('data', onData);
      input.pause();
      out.write('\x1b[?2004l');
    },
  };
}
