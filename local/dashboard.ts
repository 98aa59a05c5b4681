import { dashboardPage } from './dashboard-page.ts';
import type { DriftVerdictStore, LiveFigures } from './live-figures.ts';

/** The gateway's `pages` for the dashboard: `GET /dashboard` (the page) and `GET /dashboard/data.json` (its data). */
export function dashboardPages(
  figures: LiveFigures,
  drift: DriftVerdictStore,
): (request: { method: string; path: string }) => Promise<{ status: number; contentType: string; body: string } | undefined> {
  const page = dashboardPage();
  return async ({ method, path }) => {
    if (method !== 'GET') return undefined;
    if (path === '/dashboard' || path === '/dashboard/') return { status: 200, contentType: 'text/html; charset=utf-8', body: page };
    if (path === '/dashboard/data.json') {
      return { status: 200, contentType: 'application/json; charset=utf-8', body: JSON.stringify(figures.dashboard(drift.latest())) };
    }
    return undefined;
  };
}
