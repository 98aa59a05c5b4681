/** The inference API the CLI calls: a deployed stack's (from its outputs) or the local platform's (`platform.json`). */
export interface ApiEndpoint {
  /** Base URL; routes live under `/v1`. */
  readonly url: string;
  readonly apiKey: string;
}
