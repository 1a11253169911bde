// placeholder: filled by the survival/storm helper
import type { PeersOptions, Section } from './common.js';

export function benchSurvival(options: PeersOptions): Promise<Section> {
  void options;
  return Promise.resolve({ title: 'Survival through cuts', markdown: 'not measured in this run' });
}
