/** The body of a Kubernetes API error (metav1.Status). */
export interface Status {
  kind?: 'Status';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    kind?: string;
    causes?: Array<{ reason?: string; message?: string; field?: string }>;
  };
}

/** An HTTP error from the API server, with its Status when it sent one. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly body?: Status,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }

  static from(status: number, text: string, method: string, path: string): KubeApiError {
    let body: Status | undefined;
    try {
      body = JSON.parse(text) as Status;
    } catch {
      body = undefined;
    }
    const reason = body?.reason ?? `HTTP${status}`;
    const message = body?.message ?? (text.trim() || `HTTP ${status}`);
    return new KubeApiError(status, reason, `${method} ${path}: ${message}`, body);
  }

  /** The server's own message, without the request line. */
  get serverMessage(): string {
    return this.body?.message ?? this.message;
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 404;
}

export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 409;
}

export function isForbidden(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 403;
}
