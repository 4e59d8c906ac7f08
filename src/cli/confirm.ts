import { createInterface } from 'node:readline/promises';

/**
 * Asks a yes/no question on the terminal; without a terminal (CI, a pipe)
 * the answer is no, so a command that changes a cluster never proceeds
 * unattended without its --yes or --silent flag.
 */
export async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await rl.question(`${question} [y/N] `);
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}
