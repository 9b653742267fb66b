import { describe } from 'node:test';
import { simSeeds } from './sim_shared.js';

describe('raft deterministic simulation (part A)', () => {
  simSeeds('L11/L12 simulation A', 1, 1000);
});
