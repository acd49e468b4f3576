import { describe, expect, it } from 'vitest';
import { canonicalJson, dependencyRequest, npmFailure, runtimePackages, treeHash } from './dependencies.js';

describe('dependency pins', () => {
  it('asks for dependencies and optional dependencies, sorted', () => {
    expect(dependencyRequest({ dependencies: { zod: '^4', ms: '^2' }, optionalDependencies: { yaml: '2' } })).toEqual({ ms: '^2', yaml: '2', zod: '^4' });
    expect(Object.keys(dependencyRequest({ dependencies: { zod: '^4', ms: '^2' } }))).toEqual(['ms', 'zod']);
  });

  it('hashes a tree by content, not by the order npm wrote it in', () => {
    const a = { 'node_modules/ms': { version: '2.1.3', integrity: 'sha512-x' }, 'node_modules/a': { version: '1.0.0' } };
    const b = { 'node_modules/a': { version: '1.0.0' }, 'node_modules/ms': { integrity: 'sha512-x', version: '2.1.3' } };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(treeHash(a)).toBe(treeHash(b));
    expect(treeHash(a)).not.toBe(treeHash({ ...a, 'node_modules/ms': { version: '2.1.2', integrity: 'sha512-x' } }));
    expect(treeHash(a)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('keeps the runtime part of a lockfile: no root, no dev-only packages', () => {
    const lock = {
      lockfileVersion: 3,
      packages: {
        '': { name: 'greet', dependencies: { ms: '^2' }, devDependencies: { vitest: '^3' } },
        'node_modules/ms': { version: '2.1.3', integrity: 'sha512-x' },
        'node_modules/vitest': { version: '3.2.7', dev: true },
      },
    };
    expect(runtimePackages(lock, 'p')).toEqual({ 'node_modules/ms': { version: '2.1.3', integrity: 'sha512-x' } });
  });

  it('rejects lockfiles it cannot pin from, naming the program', () => {
    expect(() => runtimePackages({ lockfileVersion: 1, dependencies: {} }, 'kiln.yml: programs[0] (greet)')).toThrow(
      'kiln.yml: programs[0] (greet): the lockfile has no "packages" (lockfileVersion 1)',
    );
    expect(() => runtimePackages({ packages: { 'node_modules/lib': { resolved: '../lib', link: true } } }, 'p')).toThrow(
      'p: dependency "node_modules/lib" is a link to a local folder; kiln installs dependencies from the registry only',
    );
  });
});

describe('npm failures', () => {
  const where = 'kiln.yml: programs[0] (greet)';
  it('names the dependency that does not resolve (real npm 10 and 11 output)', () => {
    const e404 =
      "npm error code E404\nnpm error 404 Not Found - GET https://registry.example/kiln-no-such-package - Not found\nnpm error 404\nnpm error 404  'kiln-no-such-package@^1.0.0' is not in this registry.\n";
    const e404v11 =
      "npm error code E404\nnpm error 404 Not Found - GET https://registry.example/kiln-no-such-package\nnpm error 404\nnpm error 404  The requested resource 'kiln-no-such-package@^1.0.0' could not be found or you do not have permission to access it.\n";
    expect(npmFailure(e404v11, where, 'greet/package.json').message).toBe(npmFailure(e404, where, 'greet/package.json').message);
    expect(npmFailure('npm error code E404\nnpm error 404 Not Found - GET https://registry.example/@scope%2fpkg\n', where, 'p').message).toMatch(
      /dependency "@scope\/pkg" does not resolve/,
    );
    expect(npmFailure(e404, where, 'greet/package.json').message).toBe(
      'kiln.yml: programs[0] (greet): dependency "kiln-no-such-package@^1.0.0" does not resolve (no such package); fix "dependencies" in greet/package.json',
    );
    const etarget =
      'npm error code ETARGET\nnpm error notarget No matching version found for ms@^99.0.0.\nnpm error notarget In most cases you or one of your dependencies are requesting\n';
    expect(npmFailure(etarget, where, 'greet/package.json').message).toBe(
      'kiln.yml: programs[0] (greet): dependency "ms@^99.0.0" does not resolve (no such version); fix "dependencies" in greet/package.json',
    );
  });

  it('calls anything else a network problem', () => {
    const e = npmFailure('npm error code EAI_AGAIN\nnpm error request to https://registry.example/ms failed\n', where, 'x');
    expect(e.code).toBe('NETWORK');
    expect(e.message).toBe('kiln.yml: programs[0] (greet): npm could not install the dependencies (EAI_AGAIN)');
  });
});
