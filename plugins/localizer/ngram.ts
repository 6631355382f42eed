// The statistical detector (tinyld's heavy profile: n-gram tables for 60-odd languages), loaded only when needed.
//
// Parsing its 2 MB of tables costs about 110 MB of RSS, so nothing imports it at startup: the localizer loads it at
// config load when its languages need it (French, German... which no script or letter settles), and the standalone
// detectLanguage() on the first text that needs it.

import { createRequire } from 'node:module';

/** tinyld's detectAll: candidate languages, best first. `accuracy` is 1 when a gram unique to one language matched. */
export type NgramDetect = (text: string, options?: { only?: string[] }) => { lang: string; accuracy: number }[];

const SPECIFIER = 'tinyld/heavy';

let model: NgramDetect | null = null;
let loading: Promise<NgramDetect> | null = null;

/**
 * Loads the model (once; later calls share the promise). The file is read asynchronously, but evaluating its tables
 * still takes the main thread for about a second, so a config that needs it pays that at load, before it serves.
 * A failed load is not remembered: the next call tries again.
 */
export function loadNgramModel(): Promise<NgramDetect> {
  if (model !== null) return Promise.resolve(model);
  loading ??= import(SPECIFIER).then(
    (mod: { detectAll: NgramDetect }) => (model ??= mod.detectAll),
    (error: unknown) => {
      loading = null;
      throw error;
    },
  );
  return loading;
}

/** The model, loaded synchronously if nothing loaded it before (about a second, once). */
export function ngramModelSync(): NgramDetect {
  model ??= (createRequire(import.meta.url)(SPECIFIER) as { detectAll: NgramDetect }).detectAll;
  return model;
}
