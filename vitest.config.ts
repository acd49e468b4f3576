import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'device/**/*.test.ts', 'test/**/*.test.ts'],
    // Boot tests share one build and run QEMU under TCG: minutes, not seconds.
    testTimeout: 20_000,
    hookTimeout: 15 * 60_000,
    fileParallelism: false,
  },
});
