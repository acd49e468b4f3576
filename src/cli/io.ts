/** What a command may touch, so tests call `run(argv, io)` with their own streams and environment. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function print(stream: NodeJS.WritableStream, text = ''): void {
  stream.write(`${text}\n`);
}
