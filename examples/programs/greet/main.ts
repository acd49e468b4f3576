// `greet [name]`: a command with an npm dependency (ms), run from TypeScript source on the device.
import os from 'node:os';
import ms from 'ms';
import { greeting, type Greeting } from './greeting.ts';

const who: string = process.argv[2] ?? 'world';
const message: Greeting = greeting(who, os.hostname());
console.log(`${message.text} (up ${ms(Math.round(os.uptime() * 1000), { long: true })}, on ${process.arch})`);
