import { CanaryWatch, type CanaryCheck, type CanaryThresholds } from '#core/serving/canary-watch.ts';
import type { RegistryService } from '#core/registry/registry-service.ts';
import { canaryWatchConfig } from '#contracts/canary.ts';
import type { LiveFigures } from './live-figures.ts';

/**
 * The canary watch of the local platform: the same core as the canary-watch Lambda, run on an interval, judging
 * canaries by the platform's live figures instead of CloudWatch, and "notifying" into a list (and a callback)
 * instead of SNS.
 */

/** The deployment's defaults of `observability.canary`, for the local platform. */
export const LOCAL_CANARY_THRESHOLDS: CanaryThresholds = canaryWatchConfig.parse({});

export interface LocalNotification {
  readonly at: string;
  readonly subject: string;
  readonly message: string;
}

export interface LocalCanaryWatchOptions {
  readonly registry: RegistryService;
  readonly figures: LiveFigures;
  /** Thresholds over {@link LOCAL_CANARY_THRESHOLDS}. */
  readonly thresholds?: Partial<CanaryThresholds>;
  /** How often every canary is judged, in ms; 0 runs no timer (tests call `checkNow`). @default 15000 */
  readonly intervalMs?: number;
  readonly onNotification?: (notification: LocalNotification) => void;
  /** A pass that failed (it is retried at the next interval). */
  readonly onError?: (error: unknown) => void;
}

export class LocalCanaryWatch {
  /** What the watch announced, oldest first. */
  readonly notifications: LocalNotification[] = [];
  private readonly watch: CanaryWatch;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<CanaryCheck[]> | undefined;

  constructor(options: LocalCanaryWatchOptions) {
    this.watch = new CanaryWatch({
      registry: options.registry,
      figures: options.figures.canaryFigures(),
      thresholds: { ...LOCAL_CANARY_THRESHOLDS, ...options.thresholds },
      notifier: {
        notify: async (subject, message) => {
          const notification = { at: new Date().toISOString(), subject, message };
          this.notifications.push(notification);
          options.onNotification?.(notification);
        },
      },
    });
    const intervalMs = options.intervalMs ?? 15_000;
    if (intervalMs > 0) {
      this.timer = setInterval(() => {
        this.checkNow().catch((error: unknown) => options.onError?.(error));
      }, intervalMs);
      this.timer.unref();
    }
  }

  /** One pass over every canary; a pass already running is shared rather than started twice. */
  checkNow(): Promise<CanaryCheck[]> {
    this.running ??= this.watch.checkAll().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }
}
