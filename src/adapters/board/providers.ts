/** The board providers a core host can project to. A Jira provider is one more entry here. */
import { planeFactory } from '../plane/index.ts';
import type { ProviderFactory } from './sync.ts';

export const PROVIDER_FACTORIES: readonly ProviderFactory[] = [planeFactory];
