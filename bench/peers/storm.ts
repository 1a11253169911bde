// placeholder: filled by the survival/storm helper
import type { PeersOptions, Section } from './common.js';

export function benchStorm(options: PeersOptions): Promise<Section> {
  void options;
  return Promise.resolve({ title: 'Reconnect storm', markdown: 'not measured in this run' });
}
