// A service: logs a beat every --every seconds (default 5) until the init stops it with SIGTERM.
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { every: { type: 'string', default: '5' } } });
const seconds: number = Number(values.every);
let beats = 0;

const timer = setInterval(() => {
  beats += 1;
  console.log(`heartbeat: beat ${beats}, ${Math.round(process.memoryUsage().rss / 1e6)} MB`);
}, seconds * 1000);

process.on('SIGTERM', () => {
  clearInterval(timer);
  console.log(`heartbeat: stopping after ${beats} beats`);
});
console.log(`heartbeat: started, one beat every ${seconds} s`);
