// Building the page. Everything shown comes from the chain or the bot and is attacker-controlled
// (a proposal's JSON, image names, reasons), so text only ever becomes a Text node: there is no
// innerHTML anywhere, attributes are set one by one, and links are made only from URLs that
// parse as http(s) (see safeLink).

export type Child = Node | string | number | bigint | null | undefined | false | Child[];

export interface Props {
  class?: string;
  id?: string;
  testid?: string;
  title?: string;
  role?: string;
  type?: string;
  for?: string;
  name?: string;
  value?: string;
  placeholder?: string;
  disabled?: boolean;
  hidden?: boolean;
  /** Only "#..." in-page routes; external links go through {@link safeLink}. */
  href?: `#${string}`;
  aria?: Record<string, string>;
  data?: Record<string, string>;
  attrs?: Record<string, string>;
  onClick?: (event: MouseEvent) => void;
  onInput?: (event: Event) => void;
  onChange?: (event: Event) => void;
  onSubmit?: (event: SubmitEvent) => void;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, ...child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
}

/** Replace the children of `parent`. */
export function replace(parent: Node & ParentNode, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** `h("p", {class: "note"}, "text", child)`: an element with text children, never parsed HTML. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  const set = (name: string, value: string) => element.setAttribute(name, value);
  if (props.class) set("class", props.class);
  if (props.id) set("id", props.id);
  if (props.testid) set("data-testid", props.testid);
  if (props.title) set("title", props.title);
  if (props.role) set("role", props.role);
  if (props.type) set("type", props.type);
  if (props.for) set("for", props.for);
  if (props.name) set("name", props.name);
  if (props.placeholder) set("placeholder", props.placeholder);
  if (props.href) set("href", props.href);
  if (props.value !== undefined) (element as HTMLInputElement).value = props.value;
  if (props.disabled) set("disabled", "");
  if (props.hidden) element.hidden = true;
  for (const [key, value] of Object.entries(props.aria ?? {})) set(`aria-${key}`, value);
  for (const [key, value] of Object.entries(props.data ?? {})) set(`data-${key}`, value);
  for (const [key, value] of Object.entries(props.attrs ?? {})) {
    if (/^on/i.test(key) || key === "href" || key === "src" || key === "style") throw new Error(`refusing attribute ${key}`);
    set(key, value);
  }
  if (props.onClick) element.addEventListener("click", props.onClick as EventListener);
  if (props.onInput) element.addEventListener("input", props.onInput);
  if (props.onChange) element.addEventListener("change", props.onChange);
  if (props.onSubmit) element.addEventListener("submit", props.onSubmit as EventListener);
  append(element, ...children);
  return element;
}

/** An http(s) URL as a link opening elsewhere; any other text (javascript:, data:, a bare host)
 * stays plain text. */
export function safeLink(url: string, label?: string): Node {
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    parsed = null;
  }
  if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
    return h("span", { class: "mono" }, url);
  }
  const link = h("a", { class: "mono", attrs: { rel: "noopener noreferrer", target: "_blank" } }, label ?? url);
  link.href = parsed.href;
  return link;
}

/** A data: image URI (a wallet's icon) as an image; anything else as nothing. */
export function dataImage(uri: string, alt: string): Node | null {
  if (!/^data:image\/(png|svg\+xml|webp|gif|jpeg);/.test(uri)) return null;
  const image = h("img", { class: "wallet-icon", attrs: { alt, width: "20", height: "20" } });
  image.src = uri;
  return image;
}

/** Width of a bar segment: set through the CSSOM (allowed by the CSP, unlike style attributes). */
export function setWidth(element: HTMLElement, fraction: number): HTMLElement {
  element.style.width = `${Math.max(0, Math.min(1, fraction)) * 100}%`;
  return element;
}
