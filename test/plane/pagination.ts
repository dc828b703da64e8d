/** The test Plane's list answers: Plane's page envelope and its cursor rules. */
import { PlaneFault } from './model.ts';

/** Plane's cursor pagination: `per_page` ≤ 100 and `cursor` = `per_page:page:is_prev`. */
export function paginate<T>(all: readonly T[], url: URL): Record<string, unknown> {
  const perPageRaw = url.searchParams.get('per_page');
  const perPage = perPageRaw === null ? 100 : Number(perPageRaw);
  if (!Number.isInteger(perPage) || perPage < 1 || perPage > 100)
    throw new PlaneFault(400, { detail: 'Invalid per_page value. Cannot exceed 100.' });
  const cursor = url.searchParams.get('cursor') ?? `${perPage}:0:0`;
  const cm = /^(\d+):(\d+):([01])$/.exec(cursor);
  if (!cm) throw new PlaneFault(400, { error: 'Invalid cursor format' });
  const page = Number(cm[2]);
  const results = all.slice(page * perPage, (page + 1) * perPage);
  const more = (page + 1) * perPage < all.length;
  return {
    grouped_by: null,
    sub_grouped_by: null,
    total_count: all.length,
    next_cursor: `${perPage}:${page + 1}:0`,
    prev_cursor: `${perPage}:${Math.max(0, page - 1)}:1`,
    next_page_results: more,
    prev_page_results: page > 0,
    count: results.length,
    total_pages: Math.ceil(all.length / perPage),
    total_results: all.length,
    extra_stats: null,
    results,
  };
}
