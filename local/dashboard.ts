import { dashboardPage } from './dashboard-page.ts';
import type { DriftVerdictStore, LiveFigures } from './live-figures.ts';

/** The gateway's `pages` for the dashboard: `GET /dashboard` (the page) and `GET /dashboard/data.json` (its data). */
export function dashboardPages(
  figures: LiveFigures,
  drift: DriftVerdictStore,
): (request: { method: string; path: string }) => Promise<{ status: number; contentType: string; body: string } | undefined> {
  return async ({ method, path }) => {
    if (method !== 'GET') return undefined;
    // The page carries the figures of now, so it draws at once; then it polls data.json.
    if (path === '/dashboard' || path === '/dashboard/') {
      return { status: 200, contentType: 'text/html; charset=utf-8', body: dashboardPage(figures.dashboard(drift.latest())) };
    }
    if (path === '/dashboard/data.json') {
      return { status: 200, contentType: 'application/json; charset=utf-8', body: JSON.stringify(figures.dashboard(drift.latest())) };
    }
    return undefined;
  };
}
