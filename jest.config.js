// ESM throughout: the sources are `"type": "module"` with NodeNext resolution, so jest runs
// under --experimental-vm-modules (see the `test` script) and ts-jest emits ESM. The
// `.js` suffix that NodeNext imports carry is mapped back to the `.ts` source.
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json' }],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  globalSetup: '<rootDir>/test/global-setup.js',
  testTimeout: 60000,
  // tfjs backends are process-global; one worker per core keeps CI's 2 cores busy without thrashing.
  maxWorkers: 2,
};
