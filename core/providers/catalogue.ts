// The providers Sluice reaches, by LiteLLM's model prefix (`groq/llama3`): each one's default api_base, the
// environment variables LiteLLM reads its key (and base) from, and how its URL and credentials are shaped. Every
// entry speaks OpenAI's wire format (providers/openai.ts) but `anthropic`, whose Messages API is translated
// (providers/anthropic.ts); a prefix missing here is not supported yet.

/** How one provider prefix is reached. */
export interface ProviderFacts {
  /** The api_base when the deployment gives none; null: the deployment must give one. May hold `{account_id}`. */
  readonly defaultApiBase: string | null;
  /** Environment variables holding the API key, tried in order when litellm_params has no `api_key`. */
  readonly apiKeyEnv: readonly string[];
  /** Environment variables holding the api_base, tried in order before `defaultApiBase`. */
  readonly apiBaseEnv: readonly string[];
  /**
   * A self-hosted OpenAI-compatible server (vLLM, Ollama, LM Studio...): an api_base that is only an origin
   * (`http://host:8000`) gets `/v1`, where these servers answer. Any other api_base is used as given, as LiteLLM's
   * OpenAI client uses its base_url.
   */
  readonly selfHosted: boolean;
  /** Azure's shape: `{base}/openai/deployments/{model}/…?api-version=…`, the key in an `api-key` header. */
  readonly azure?: true;
}

const openaiCompatible = (defaultApiBase: string | null, apiKeyEnv: readonly string[], apiBaseEnv: readonly string[] = []): ProviderFacts => ({
  defaultApiBase,
  apiKeyEnv,
  apiBaseEnv,
  selfHosted: false,
});

const selfHosted = (defaultApiBase: string | null, apiKeyEnv: readonly string[], apiBaseEnv: readonly string[] = []): ProviderFacts => ({
  defaultApiBase,
  apiKeyEnv,
  apiBaseEnv,
  selfHosted: true,
});

/** The Azure OpenAI `api-version` LiteLLM sends when neither litellm_params nor AZURE_API_VERSION gives one. */
export const AZURE_DEFAULT_API_VERSION = '2025-02-01-preview';

/** Provider facts by LiteLLM prefix. */
export const PROVIDERS: ReadonlyMap<string, ProviderFacts> = new Map<string, ProviderFacts>([
  // Self-hosted servers, and OpenAI itself (an origin-only api_base for openai/ has always meant `…/v1` here).
  ['openai', selfHosted('https://api.openai.com/v1', ['OPENAI_API_KEY'], ['OPENAI_BASE_URL', 'OPENAI_API_BASE'])],
  ['text-completion-openai', selfHosted('https://api.openai.com/v1', ['OPENAI_API_KEY'], ['OPENAI_BASE_URL', 'OPENAI_API_BASE'])],
  ['custom_openai', selfHosted(null, ['OPENAI_API_KEY'], ['OPENAI_BASE_URL', 'OPENAI_API_BASE'])],
  ['openai_like', selfHosted(null, ['OPENAI_LIKE_API_KEY'])],
  ['hosted_vllm', selfHosted(null, ['HOSTED_VLLM_API_KEY'], ['HOSTED_VLLM_API_BASE'])],
  ['vllm', selfHosted(null, ['HOSTED_VLLM_API_KEY'], ['HOSTED_VLLM_API_BASE'])],
  ['ollama', selfHosted('http://localhost:11434', ['OLLAMA_API_KEY'], ['OLLAMA_API_BASE'])],
  ['ollama_chat', selfHosted('http://localhost:11434', ['OLLAMA_API_KEY'], ['OLLAMA_API_BASE'])],
  ['lm_studio', selfHosted('http://localhost:1234/v1', ['LM_STUDIO_API_KEY'], ['LM_STUDIO_API_BASE'])],
  ['llamafile', selfHosted('http://127.0.0.1:8080/v1', ['LLAMAFILE_API_KEY'], ['LLAMAFILE_API_BASE'])],
  // Hosted OpenAI-compatible APIs: their base paths are not always `/v1`, so an api_base is used as given.
  ['anthropic', openaiCompatible('https://api.anthropic.com', ['ANTHROPIC_API_KEY'], ['ANTHROPIC_API_BASE'])],
  ['groq', openaiCompatible('https://api.groq.com/openai/v1', ['GROQ_API_KEY'], ['GROQ_API_BASE'])],
  ['openrouter', openaiCompatible('https://openrouter.ai/api/v1', ['OPENROUTER_API_KEY', 'OR_API_KEY'], ['OPENROUTER_API_BASE'])],
  ['mistral', openaiCompatible('https://api.mistral.ai/v1', ['MISTRAL_API_KEY'], ['MISTRAL_API_BASE'])],
  ['cerebras', openaiCompatible('https://api.cerebras.ai/v1', ['CEREBRAS_API_KEY'], ['CEREBRAS_API_BASE'])],
  ['together_ai', openaiCompatible('https://api.together.xyz/v1', ['TOGETHERAI_API_KEY', 'TOGETHER_API_KEY', 'TOGETHER_AI_TOKEN'], ['TOGETHERAI_API_BASE'])],
  ['deepseek', openaiCompatible('https://api.deepseek.com/beta', ['DEEPSEEK_API_KEY'], ['DEEPSEEK_API_BASE'])],
  ['fireworks_ai', openaiCompatible('https://api.fireworks.ai/inference/v1', ['FIREWORKS_API_KEY', 'FIREWORKS_AI_API_KEY', 'FIREWORKSAI_API_KEY'], ['FIREWORKS_API_BASE'])],
  ['perplexity', openaiCompatible('https://api.perplexity.ai', ['PERPLEXITYAI_API_KEY', 'PERPLEXITY_API_KEY'], ['PERPLEXITY_API_BASE'])],
  ['xai', openaiCompatible('https://api.x.ai/v1', ['XAI_API_KEY'], ['XAI_API_BASE'])],
  ['nvidia_nim', openaiCompatible('https://integrate.api.nvidia.com/v1', ['NVIDIA_NIM_API_KEY'], ['NVIDIA_NIM_API_BASE'])],
  ['github', openaiCompatible('https://models.inference.ai.azure.com', ['GITHUB_API_KEY'], ['GITHUB_API_BASE'])],
  ['sambanova', openaiCompatible('https://api.sambanova.ai/v1', ['SAMBANOVA_API_KEY'], ['SAMBANOVA_API_BASE'])],
  ['deepinfra', openaiCompatible('https://api.deepinfra.com/v1/openai', ['DEEPINFRA_API_KEY'], ['DEEPINFRA_API_BASE'])],
  // Cohere's OpenAI compatibility endpoint, not its native v2 API.
  ['cohere', openaiCompatible('https://api.cohere.ai/compatibility/v1', ['COHERE_API_KEY', 'CO_API_KEY'], ['COHERE_API_BASE'])],
  // Workers AI's OpenAI-compatible endpoint; the account id comes from litellm_params.account_id or the environment.
  ['cloudflare', openaiCompatible('https://api.cloudflare.com/client/v4/accounts/{account_id}/ai/v1', ['CLOUDFLARE_API_KEY'], ['CLOUDFLARE_API_BASE'])],
  // Google's OpenAI-compatible endpoint for Gemini.
  ['gemini', openaiCompatible('https://generativelanguage.googleapis.com/v1beta/openai', ['GEMINI_API_KEY'], ['GEMINI_API_BASE'])],
  ['azure', { defaultApiBase: null, apiKeyEnv: ['AZURE_API_KEY', 'AZURE_OPENAI_API_KEY'], apiBaseEnv: ['AZURE_API_BASE'], selfHosted: false, azure: true }],
]);

/** Where Cloudflare's account id is read from when litellm_params has no `account_id`. */
export const CLOUDFLARE_ACCOUNT_ENV = 'CLOUDFLARE_ACCOUNT_ID';

/** The first of `names` set (and not empty) in `env`. */
export function firstEnv(env: NodeJS.ProcessEnv, names: readonly string[]): string | null {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
  }
  return null;
}
