// The entry point of the container image's bundle (src/dev/image): runs the
// CLI as bin/sluice.js does in a checkout, without a TypeScript loader.
import { main } from './main.ts';

process.exitCode = await main(process.argv.slice(2));
