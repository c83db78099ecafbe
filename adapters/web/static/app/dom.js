// DOM helpers. Text always goes in as text nodes: nothing a user or the
// server sends is ever parsed as HTML.

// h builds an element: h('button', {type: 'button', onclick: fn}, 'Send').
// Attributes named on* become listeners; false, null and undefined are skipped;
// children are nodes or strings (strings become text nodes).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value == null) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (name === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (name in el && typeof value !== 'string') {
      el[name] = value;
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// replace swaps el's children for children.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// fullName is a user's display name.
export function fullName(user) {
  if (!user) return '';
  return [user.firstName, user.lastName].filter(Boolean).join(' ') || user.email || 'Unknown';
}

// initials are the letters of a user's avatar.
export function initials(user) {
  const name = fullName(user).trim();
  const parts = name.split(/\s+/).filter(Boolean);
  return ((parts[0]?.[0] || '?') + (parts[1]?.[0] || '')).toUpperCase();
}

// avatar is a round badge with a user's initials.
export function avatar(user) {
  return h('span', {class: 'avatar', 'aria-hidden': 'true'}, initials(user));
}

const timeFormat = new Intl.DateTimeFormat(undefined, {hour: 'numeric', minute: '2-digit'});
const dayFormat = new Intl.DateTimeFormat(undefined, {month: 'short', day: 'numeric'});
const fullFormat = new Intl.DateTimeFormat(undefined, {dateStyle: 'full', timeStyle: 'short'});

// timeEl shows a time in the reader's locale: the hour today, the day before.
export function timeEl(iso, {short = false} = {}) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return h('time');
  const today = new Date().toDateString() === d.toDateString();
  const text = short && !today ? dayFormat.format(d) : timeFormat.format(d);
  return h('time', {datetime: d.toISOString(), title: fullFormat.format(d)}, text);
}

// dayLabel names the day of a message, for the separators of a chat.
export function dayLabel(iso) {
  const d = new Date(iso);
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return 'Today';
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (d.toDateString() === yesterday.toDateString()) return 'Yesterday';
  return new Intl.DateTimeFormat(undefined, {dateStyle: 'medium'}).format(d);
}

// randomId is a UUID v4. crypto.randomUUID exists only on secure origins;
// getRandomValues exists everywhere.
export function randomId() {
  if (globalThis.crypto?.randomUUID && globalThis.isSecureContext) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
