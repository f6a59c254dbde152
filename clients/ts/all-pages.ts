/** One page of a list call: its items and the token of the next page ("" on the last one). */
export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

/** Every item of a paged list: calls `fetchPage` with each page's token until the last page. */
export async function allPages<T>(fetchPage: (pageToken: string) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let pageToken = "";
  do {
    const page = await fetchPage(pageToken);
    items.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return items;
}
