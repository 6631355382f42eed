// Entry point: `node core/main.js --config proxy.yaml`. Node 24 runs the TypeScript sources directly.
import './cli.ts';
