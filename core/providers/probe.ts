// The request an active health check sends to a deployment: a cheap GET that its provider answers with a 2xx when it
// is up, with the provider's own credentials header. The provider facts live here so probes and requests agree.

import type { Deployment } from '../config/models.ts';
import { ANTHROPIC_VERSION, messagesRoot } from './anthropic.ts';

export interface HealthProbe {
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
}

export function healthProbe(deployment: Deployment): HealthProbe {
  const headers: Record<string, string> = { accept: 'application/json' };
  const key = deployment.apiKey;
  if (deployment.kind === 'anthropic') {
    if (key !== null) headers['x-api-key'] = key;
    headers['anthropic-version'] = ANTHROPIC_VERSION;
    return { path: `${messagesRoot(deployment.basePath)}/models`, headers };
  }
  if (key !== null) headers[deployment.apiKeyHeader] = deployment.apiKeyHeader === 'authorization' ? `Bearer ${key}` : key;
  switch (deployment.provider) {
    case 'ollama':
    case 'ollama_chat':
      return { path: '/api/tags', headers };
    case 'hosted_vllm':
    case 'vllm':
      return { path: '/health', headers };
    default: {
      // Azure's base path names one deployment; its model list sits beside the deployments.
      const base = deployment.basePath.replace(/\/deployments\/[^/]+$/, '');
      return { path: `${base}/models${deployment.pathQuery}`, headers };
    }
  }
}
