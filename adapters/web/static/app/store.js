// The client's state: conversations, the messages of each chat, friends and
// requests, who is typing, the connection. Messages are keyed by messageId
// (nothing is shown twice) and ordered by sequenceId; the sender's own
// unsequenced messages follow, in the order they were written.

export function conversationId(a, b) {
  return a < b ? `${a}_${b}` : `${b}_${a}`;
}

// Chat is the loaded part of one conversation.
export class Chat {
  constructor(id, peerId) {
    this.id = id;
    this.peerId = peerId;
    this.byId = new Map(); // messageId -> message from the server
    this.pending = new Map(); // clientMessageId -> {clientMessageId, message, status, ...}
    this.loaded = false;
    this.loading = false;
    this.hasMore = false;
    this.deliveredUpTo = 0; // the peer's device has my messages up to here
    this.readUpTo = 0; // the peer has read my messages up to here
    this.markedUpTo = 0; // I told the server I read up to here
  }

  // add stores a message from the server, replacing an earlier copy of it
  // and the local pending entry it confirms. It returns true when the
  // message was new to the chat.
  add(m) {
    const known = this.byId.has(m.messageId);
    const prev = this.byId.get(m.messageId);
    // A copy without a sequence never replaces one with it.
    if (!prev || m.sequenceId || !prev.sequenceId) this.byId.set(m.messageId, {...prev, ...m});
    if (m.clientMessageId) this.pending.delete(m.clientMessageId);
    return !known;
  }

  // remove drops the messages above a sequence (a resync).
  dropAbove(seq) {
    for (const [id, m] of this.byId) if (m.sequenceId > seq) this.byId.delete(id);
  }

  oldest() {
    let min = 0;
    for (const m of this.byId.values()) if (m.sequenceId && (!min || m.sequenceId < min)) min = m.sequenceId;
    return min;
  }

  newest() {
    let max = 0;
    for (const m of this.byId.values()) if (m.sequenceId > max) max = m.sequenceId;
    return max;
  }

  // contiguous is the highest sequence up to which the loaded messages have
  // no gap, counting from the oldest loaded one.
  contiguous() {
    const seqs = new Set();
    for (const m of this.byId.values()) if (m.sequenceId) seqs.add(m.sequenceId);
    let s = this.oldest();
    if (!s) return 0;
    while (seqs.has(s + 1)) s++;
    return s;
  }

  // list is what the chat shows, in order.
  list() {
    const sequenced = [...this.byId.values()].filter((m) => m.sequenceId).sort((a, b) => a.sequenceId - b.sequenceId);
    const unsequenced = [...this.byId.values()].filter((m) => !m.sequenceId);
    const local = [...this.pending.values()].filter((p) => !(p.messageId && this.byId.has(p.messageId)));
    return [...sequenced, ...unsequenced, ...local.sort((a, b) => a.localTime - b.localTime)];
  }

  // watermarks reads delivered and read state from loaded messages.
  noteReceipts(me) {
    for (const m of this.byId.values()) {
      if (m.senderId !== me || !m.sequenceId) continue;
      if (m.deliveredAt) this.deliveredUpTo = Math.max(this.deliveredUpTo, m.sequenceId);
      if (m.readAt) this.readUpTo = Math.max(this.readUpTo, m.sequenceId);
    }
  }

  // status of one of my messages: pending, failed, sent, delivered or read.
  status(m) {
    if (m.status === 'pending' || m.status === 'failed') return m.status;
    const seq = m.sequenceId;
    if (m.readAt || (seq && seq <= this.readUpTo)) return 'read';
    if (m.deliveredAt || (seq && seq <= Math.max(this.deliveredUpTo, this.readUpTo))) return 'delivered';
    return 'sent';
  }
}

export class Store extends EventTarget {
  constructor() {
    super();
    this.reset(null);
  }

  reset(me) {
    this.me = me;
    this.conversations = new Map(); // id -> {conversationId, peer, lastMessage, unreadCount}
    this.chats = new Map();
    this.cursors = new Map(); // id -> highest sequence received without a gap
    this.acked = new Map(); // id -> sequence acknowledged to the server
    this.friends = [];
    this.requests = [];
    this.sentRequests = new Set();
    this.blocked = [];
    this.typing = new Map(); // conversation id -> timer
    this.connection = 'offline';
    this.users = new Map(); // id -> user, from any list
  }

  changed(what) {
    this.dispatchEvent(new CustomEvent('change', {detail: what}));
  }

  rememberUser(u) {
    if (u?.id) this.users.set(u.id, {...this.users.get(u.id), ...u});
  }

  chat(peerId) {
    const id = conversationId(this.me.id, peerId);
    let c = this.chats.get(id);
    if (!c) {
      c = new Chat(id, peerId);
      this.chats.set(id, c);
    }
    return c;
  }

  peerOf(convId) {
    const [a, b] = convId.split('_');
    return a === this.me.id ? b : a;
  }

  setConversations(list) {
    const next = new Map();
    for (const c of list) {
      this.rememberUser(c.peer);
      next.set(c.conversationId, c);
      const seq = c.lastMessage?.sequenceId || 0;
      if (seq > (this.cursors.get(c.conversationId) || 0)) this.cursors.set(c.conversationId, seq);
    }
    // Keep what arrived live and is newer than the list.
    for (const [id, c] of this.conversations) {
      const n = next.get(id);
      if (!n || (c.lastMessage?.sequenceId || 0) > (n.lastMessage?.sequenceId || 0)) next.set(id, c);
    }
    this.conversations = next;
    this.changed('conversations');
  }

  // sortedConversations: newest first.
  sortedConversations() {
    const time = (c) => (c.lastMessage?.timestamp ? Date.parse(c.lastMessage.timestamp) : 0);
    return [...this.conversations.values()].sort((a, b) => time(b) - time(a));
  }

  // receive takes a message from the socket or a history page. It returns
  // true when it was new. onScreen says the chat is visible (no unread).
  receive(m, {live = false, onScreen = false} = {}) {
    const id = m.conversationId;
    const peerId = m.senderId === this.me.id ? m.receiverId : m.senderId;
    // A chat nobody has opened keeps nothing from the socket: opening it
    // reads the newest page. One being read keeps what arrives meanwhile.
    let chat = this.chats.get(id) || (live ? null : this.chat(peerId));
    if (live && chat && !chat.loaded && !chat.loading) chat = null;
    const fresh = chat ? chat.add(m) : true;
    const cursor = this.cursors.get(id) || 0;
    let conv = this.conversations.get(id);
    const isNewer = !conv || (m.sequenceId || 0) > (conv.lastMessage?.sequenceId || 0);
    if (live && m.sequenceId && m.sequenceId > cursor) {
      if (m.senderId !== this.me.id && !onScreen && fresh !== false && isNewer) {
        if (conv) conv.unreadCount = (conv.unreadCount || 0) + 1;
      }
      if (m.sequenceId === cursor + 1 || cursor === 0) this.advanceCursor(id, m.sequenceId);
    }
    if (isNewer && m.sequenceId) {
      if (!conv) {
        const peer = this.users.get(peerId) || {id: peerId};
        conv = {conversationId: id, peer, unreadCount: live && m.senderId !== this.me.id && !onScreen ? 1 : 0};
        this.conversations.set(id, conv);
      }
      conv.lastMessage = m;
    }
    if (isNewer) this.changed('conversations');
    if (chat) this.changed(`chat:${id}`);
    return fresh;
  }

  advanceCursor(id, seq) {
    let s = seq;
    const chat = this.chats.get(id);
    if (chat) {
      const seqs = new Set([...chat.byId.values()].map((m) => m.sequenceId));
      while (seqs.has(s + 1)) s++;
    }
    this.cursors.set(id, Math.max(s, this.cursors.get(id) || 0));
  }

  setTyping(convId, isTyping) {
    clearTimeout(this.typing.get(convId));
    this.typing.delete(convId);
    // A lost "stopped typing" must not leave the indicator on.
    if (isTyping) this.typing.set(convId, setTimeout(() => this.setTyping(convId, false), 6000));
    this.changed(`typing:${convId}`);
  }

  unreadTotal() {
    let n = 0;
    for (const c of this.conversations.values()) n += c.unreadCount || 0;
    return n;
  }
}
