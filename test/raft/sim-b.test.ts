import { describe } from 'node:test';
import { simSeeds } from './sim_shared.js';

describe('raft deterministic simulation (part B)', () => {
  simSeeds('L11/L12 simulation B', 100_001, 1000);
  simSeeds('L11/L12 churn simulation B', 300_001, 500, 'churn');
});
