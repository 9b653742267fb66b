import { describe } from 'node:test';
import { simSeeds } from './sim_shared.js';

describe('raft deterministic simulation (part A)', () => {
  simSeeds('L11/L12 simulation A', 1, 1000);
  simSeeds('L11/L12 churn simulation A', 200_001, 500, 'churn');
});
