// One conversation: history that grows upwards as the reader scrolls, the
// composer, the ticks of one's own messages and the peer's typing.
import {avatar, dayLabel, fullName, h, initials, replace, timeEl} from '../dom.js';

const TICKS = {
  pending: {symbol: '◷', label: 'Sending'},
  sent: {symbol: '✓', label: 'Sent'},
  delivered: {symbol: '✓✓', label: 'Delivered'},
  read: {symbol: '✓✓', label: 'Read'},
  failed: {symbol: '!', label: 'Not sent'},
};

// TYPING_REFRESH_MS is how often "typing" is repeated while the person keeps
// typing; TYPING_IDLE_MS of silence sends "stopped".
const TYPING_REFRESH_MS = 3000;
const TYPING_IDLE_MS = 4000;
const NEAR_TOP_PX = 80;
const NEAR_BOTTOM_PX = 120;

export class ChatView {
  constructor(app, peerId) {
    this.app = app;
    this.peerId = peerId;
    this.chat = app.store.chat(peerId);
    this.items = new Map(); // key -> li
    this.typingSentAt = 0;
    this.typingTimer = null;

    const peer = this.peer();
    this.title = h('h2', {id: 'chat-title'}, fullName(peer));
    this.subtitle = h('p', {class: 'chat-status', 'aria-live': 'polite'});
    this.older = h('button', {type: 'button', class: 'older', hidden: true, onclick: () => this.loadOlder()}, 'Load older messages');
    this.list = h('ol', {class: 'message-list'});
    this.scroller = h('div', {class: 'messages', role: 'log', tabindex: '0', 'aria-labelledby': 'chat-title', 'aria-live': 'polite'},
      this.older, this.list);
    this.input = h('textarea', {id: 'composer-input', rows: 1, placeholder: 'Write a message', autocomplete: 'off', maxlength: 8000});
    this.file = h('input', {type: 'file', id: 'composer-file', class: 'visually-hidden', accept: ACCEPT});
    this.composer = h('form', {class: 'composer'},
      h('label', {for: 'composer-file', class: 'attach button', title: 'Attach a file'}, '📎',
        h('span', {class: 'visually-hidden'}, 'Attach a file')),
      this.file,
      h('label', {for: 'composer-input', class: 'visually-hidden'}, 'Message'),
      this.input,
      h('button', {type: 'submit', class: 'primary send'}, 'Send'));
    this.avatar = avatar(peer);
    this.el = h('section', {class: 'chat', 'aria-labelledby': 'chat-title', dataset: {peer: peerId}},
      h('header', {class: 'chat-head'},
        h('a', {class: 'back', href: '#/', 'aria-label': 'Back to chats'}, '‹'),
        this.avatar,
        h('div', {class: 'chat-title'}, this.title, this.subtitle)),
      this.scroller, this.composer);

    this.composer.addEventListener('submit', (e) => {
      e.preventDefault();
      this.send();
    });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.send();
      }
    });
    this.input.addEventListener('input', () => this.typed());
    this.file.addEventListener('change', () => {
      for (const f of this.file.files) this.app.sendFile(this.chat, f);
      this.file.value = '';
    });
    this.input.addEventListener('blur', () => this.stopTyping());
    // Whoever reads the newest messages keeps reading them when the view
    // changes size (a phone's keyboard, a rotation).
    this.pinned = true;
    this.scroller.addEventListener('scroll', () => {
      this.pinned = this.nearBottom();
      if (this.scroller.scrollTop < NEAR_TOP_PX) this.loadOlder();
    });
    this.resized = new ResizeObserver(() => {
      if (this.pinned) this.scroller.scrollTop = this.scroller.scrollHeight;
    });
    this.resized.observe(this.scroller);
    this.onChange = (e) => {
      const what = e.detail;
      if (what === `chat:${this.chat.id}`) this.render();
      else if (what === `typing:${this.chat.id}` || what === 'users' || what === 'friends') this.renderHead();
    };
    this.onVisible = () => this.app.markRead(this.chat);
    app.store.addEventListener('change', this.onChange);
    document.addEventListener('visibilitychange', this.onVisible);
    this.renderHead();
    this.render();
    this.load();
  }

  destroy() {
    this.resized.disconnect();
    this.stopTyping();
    this.app.store.removeEventListener('change', this.onChange);
    document.removeEventListener('visibilitychange', this.onVisible);
  }

  focus() {
    this.input.focus();
  }

  peer() {
    const {store} = this.app;
    return store.users.get(this.peerId) || {id: this.peerId, firstName: '…'};
  }

  load() {
    if (this.chat.loading) return;
    this.fetch(() => this.app.loadChat(this.chat), {toBottom: true});
  }

  // loadOlder fetches the page before the oldest loaded message, keeping what
  // the reader sees in place.
  loadOlder() {
    const {chat} = this;
    if (chat.loading || !chat.loaded || !chat.hasMore) return;
    const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
    this.fetch(() => this.app.loadOlder(chat), {keep: fromBottom});
  }

  // fetch reads a page of history, one at a time, then shows it as placement
  // says.
  async fetch(read, placement) {
    const {chat} = this;
    chat.loading = true;
    try {
      await read();
    } catch (err) {
      this.app.toast(err.message);
    } finally {
      chat.loading = false;
    }
    this.render(placement);
    this.fillViewport();
  }

  // fillViewport loads more while the history does not fill the view, so
  // that there is something to scroll.
  fillViewport() {
    if (this.chat.hasMore && this.scroller.scrollHeight <= this.scroller.clientHeight) this.loadOlder();
  }

  nearBottom() {
    return this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight < NEAR_BOTTOM_PX;
  }

  renderHead() {
    const peer = this.peer();
    this.title.textContent = fullName(peer);
    this.avatar.textContent = initials(peer);
    const typing = this.app.store.typing.has(this.chat.id);
    this.subtitle.textContent = typing ? 'typing…' : presenceText(peer);
    this.subtitle.classList.toggle('typing', typing);
    this.subtitle.dataset.typing = typing ? 'true' : 'false';
  }

  render({toBottom = false, keep = 0} = {}) {
    const {chat} = this;
    const me = this.app.store.me.id;
    const atBottom = this.nearBottom();
    const nodes = [];
    const seen = new Set();
    let day = '';
    let ownNew = false;
    for (const m of chat.list()) {
      const d = m.timestamp ? new Date(m.timestamp).toDateString() : new Date(m.localTime).toDateString();
      if (d !== day) {
        day = d;
        nodes.push(h('li', {class: 'day', role: 'separator'}, dayLabel(m.timestamp || m.localTime)));
      }
      const key = `${m.senderId}:${m.clientMessageId || m.messageId}`;
      seen.add(key);
      let li = this.items.get(key);
      if (!li) {
        li = h('li');
        this.items.set(key, li);
        if (m.senderId === me && !m.sequenceId) ownNew = true;
      }
      this.fill(li, m, m.senderId === me);
      nodes.push(li);
    }
    for (const key of this.items.keys()) if (!seen.has(key)) this.items.delete(key);
    replace(this.list, nodes);
    this.older.hidden = !chat.hasMore;
    if (keep) this.scroller.scrollTop = this.scroller.scrollHeight - keep;
    else if (toBottom || atBottom || ownNew) this.scroller.scrollTop = this.scroller.scrollHeight;
    this.app.markRead(chat);
  }

  // fill brings one message's element up to date.
  fill(li, m, mine) {
    const status = mine ? this.chat.status(m) : '';
    li.className = `msg ${mine ? 'mine' : 'theirs'}`;
    if (m.deletedAt) li.classList.add('deleted');
    li.dataset.id = m.messageId || '';
    li.dataset.clientId = m.clientMessageId || '';
    li.dataset.seq = m.sequenceId || '';
    if (status) li.dataset.status = status;
    const text = m.deletedAt ? 'Message deleted' : m.message;
    const attachment = m.deletedAt ? '' : attachmentOf(m);
    const parts = [h('p', {class: 'text'}, text)];
    if (attachment) parts.unshift(this.attachment(m, attachment));
    const meta = [timeEl(m.timestamp || new Date(m.localTime).toISOString())];
    if (m.editedAt && !m.deletedAt) meta.unshift(h('span', {class: 'edited'}, 'edited'));
    if (mine) {
      const t = TICKS[status];
      meta.push(h('span', {class: `tick ${status}`, role: 'img', 'aria-label': t.label, title: t.label}, t.symbol));
    }
    parts.push(h('span', {class: 'meta'}, meta));
    if (status === 'failed') {
      parts.push(h('span', {class: 'failure'},
        h('span', {}, m.error ? `Not sent: ${m.error}` : 'Not sent'),
        h('button', {type: 'button', class: 'retry', onclick: () => this.app.retry(this.chat, m.clientMessageId)}, 'Retry')));
    }
    // Replacing the children of a message the person is tabbing through
    // would lose focus: keep the retry button when nothing changed.
    const signature = JSON.stringify([text, status, m.timestamp, m.editedAt, m.error, attachment]);
    if (li.dataset.signature === signature) return;
    li.dataset.signature = signature;
    replace(li, parts);
  }

  // attachment shows an image inline, from the file itself while it is
  // being sent, and any other file as a link that downloads it.
  attachment(m, id) {
    if (m.messageType === 'image') {
      const img = h('img', {class: 'attachment', alt: m.message});
      if (m.file) {
        m.localURL ||= URL.createObjectURL(m.file);
        img.src = m.localURL;
      } else {
        this.app.attachmentURL(id).then((url) => {
          img.src = url;
        }, () => {
          img.alt = `${m.message} (not available)`;
        });
      }
      return img;
    }
    const link = h('a', {class: 'attachment file', href: '#', download: m.message}, `📎 ${m.message}`);
    link.addEventListener('click', async (e) => {
      if (link.dataset.ready) return;
      e.preventDefault();
      if (m.file) return;
      try {
        link.href = await this.app.attachmentURL(id);
        link.dataset.ready = 'true';
        link.click();
      } catch (err) {
        this.app.toast(err.message);
      }
    });
    return link;
  }

  send() {
    const text = this.input.value;
    if (!text.trim()) return;
    this.input.value = '';
    this.stopTyping();
    this.app.send(this.chat, text);
    this.input.focus();
  }

  typed() {
    const now = Date.now();
    clearTimeout(this.typingTimer);
    if (!this.input.value) {
      this.stopTyping();
      return;
    }
    if (now - this.typingSentAt > TYPING_REFRESH_MS) {
      this.typingSentAt = now;
      this.app.typing(this.peerId, true);
    }
    this.typingTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    clearTimeout(this.typingTimer);
    if (!this.typingSentAt) return;
    this.typingSentAt = 0;
    this.app.typing(this.peerId, false);
  }
}

// ACCEPT are the types the file picker offers: those the server accepts
// by default.
const ACCEPT = 'image/jpeg,image/png,image/gif,image/webp,application/pdf,text/plain,text/csv,.doc,.docx,.xls,.xlsx,.ppt,.pptx,.odt,.ods,.odp,.rtf';

// attachmentOf is the attachment an image or file message carries: its id,
// or, while one's own is being sent, the local file's name.
function attachmentOf(m) {
  if (m.messageType !== 'image' && m.messageType !== 'file') return '';
  return m.metadata?.attachmentId || (m.file ? `local:${m.clientMessageId}` : '');
}

// presenceText shows the peer's presence once the server reports it.
function presenceText(peer) {
  if (peer.online === true) return 'online';
  if (peer.lastSeenAt) {
    return `last seen ${new Intl.DateTimeFormat(undefined, {dateStyle: 'medium', timeStyle: 'short'}).format(new Date(peer.lastSeenAt))}`;
  }
  return '';
}
