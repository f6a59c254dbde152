/** A child of {@link h}: nodes, text, nested arrays; null, undefined and false are skipped. */
export type Child = Node | string | number | bigint | null | undefined | false | readonly Child[];

/** Attributes and listeners of {@link h}: `onclick` etc. are listeners, booleans toggle attributes. */
export type Props = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

/** Properties set as DOM properties rather than attributes (their live state). */
const PROPERTIES = new Set(["checked", "value", "disabled", "indeterminate"]);

/**
 * Creates an element: `h("a", { href: "/x", class: "link" }, "text")`. Keys starting with
 * `on` add event listeners; `checked`, `value`, `disabled` and `indeterminate` set properties.
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined) continue;
    if (typeof value === "function") {
      element.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (PROPERTIES.has(key)) {
      (element as unknown as Record<string, unknown>)[key] = value;
    } else if (typeof value === "boolean") {
      element.toggleAttribute(key, value);
    } else {
      element.setAttribute(key, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child as readonly Child[]);
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * Replaces the children of `parent`, keeping keyboard focus: when the focused element inside
 * `parent` has a `data-key`, the new element with the same key gets the focus back (a poll
 * that re-renders a table must not throw the keyboard user back to the top).
 */
export function replaceKeepingFocus(parent: Element, ...children: Child[]): void {
  const active = document.activeElement;
  const key = active instanceof HTMLElement && parent.contains(active) ? active.dataset.key : undefined;
  parent.replaceChildren();
  append(parent, children);
  if (key !== undefined) {
    const again = parent.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`);
    again?.focus();
  }
}

/**
 * A link inside the application (the router intercepts its clicks), keyed by its address so
 * that a redraw keeps it focused (see {@link replaceKeepingFocus}).
 */
export function link(href: string, ...children: Child[]): HTMLAnchorElement {
  return h("a", { href, "data-key": href }, ...children);
}

/** A table with a caption (visually hidden when `hideCaption`), header cells and rows. */
export function table(caption: string, headers: readonly string[], rows: readonly HTMLTableRowElement[], emptyText: string): HTMLElement {
  if (rows.length === 0) return h("p", { class: "empty" }, emptyText);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col" }, text)))),
      h("tbody", {}, rows),
    ),
  );
}

/** A table row of cells. */
export function row(...cells: Child[]): HTMLTableRowElement {
  return h("tr", {}, cells.map((cell) => (cell instanceof HTMLTableCellElement ? cell : h("td", {}, cell))));
}
