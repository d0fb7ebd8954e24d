/** A yes/no question on the terminal; only "y" or "yes" is yes (the default is no). */
export async function askYes(
  question: string,
  output: NodeJS.WritableStream = process.stdout,
): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
