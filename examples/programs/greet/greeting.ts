export interface Greeting {
  text: string;
  to: string;
}

export function greeting(to: string, host: string): Greeting {
  return { text: `greet: hello ${to}, from ${host}`, to };
}
