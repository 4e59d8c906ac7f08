import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
type WithHelp<O extends Options> = O & { help: { type: 'boolean'; short: 'h' } };

/**
 * What every verb does first: parse its flags and positionals, answer
 * `--help` with its usage, and make the usage failure (exit 2, the message,
 * then the usage) its checks return. `help` is undefined unless `-h` was
 * given, when it is the exit code to return at once.
 */
export function startVerb<const O extends Options>(verb: string, usage: string, args: string[], options: O) {
  const config = { args, allowPositionals: true as const, options: { ...options, help: { type: 'boolean' as const, short: 'h' as const } } as WithHelp<O> };
  const { values, positionals } = parseArgs<{ args: string[]; allowPositionals: true; options: WithHelp<O> }>(config);
  const fail = (msg: string): number => {
    process.stderr.write(`sluice ${verb}: ${msg}\n${usage}`);
    return 2;
  };
  const help = (values as { help?: boolean }).help ? (process.stdout.write(usage), 0) : undefined;
  return { values, positionals, help, fail };
}
