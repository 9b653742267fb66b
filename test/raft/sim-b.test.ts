import { describe } from 'node:test';
import { simSeeds } from './sim_shared.js';

describe('raft deterministic simulation (part B)', () => {
  simSeeds('L11/L12 simulation B', 100_001, 1000);
});
