// The application: signs in and out, keeps the store in step with the REST
// API and the socket, and shows the screen the address names (#/, #/friends,
// #/chat/<user id>).
import {Api} from './api.js';
import {h, fullName, randomId, replace} from './dom.js';
import {Socket} from './socket.js';
import {Store} from './store.js';
import {authView} from './views/auth.js';
import {ChatView} from './views/chat.js';
import {ConversationsView} from './views/conversations.js';
import {FriendsView} from './views/friends.js';

const PAGE_SIZE = 30;
const ACK_DELAY_MS = 50;
const BLOCKED_KEY = 'messenger.blocked.';
// INLINE_TYPES are the images sent as image messages and shown inline.
const INLINE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

export class App {
  constructor(root) {
    this.root = root;
    this.api = new Api();
    this.store = new Store();
    this.socket = new Socket({
      api: this.api,
      cursors: () => Object.fromEntries(this.store.cursors),
      onEvent: (name, data) => this.onEvent(name, data),
      onStatus: (status) => this.onStatus(status),
    });
    this.route = {name: 'home'};
    this.main = null;
    this.side = null;
    this.ackTimer = null;
    this.leaving = false; // the person signed out (no notice needed)
    this.attachments = new Map(); // attachmentId -> Promise of an object URL
    this.api.addEventListener('logout', () => this.signedOut('You were signed out.'));
    window.addEventListener('hashchange', () => this.navigate());
    this.store.addEventListener('change', (e) => {
      if (e.detail === 'requests' && this.friendsBadge) this.renderBadges();
    });
  }

  async start() {
    replace(this.root, h('p', {class: 'loading', role: 'status'}, 'Loading…'));
    let user = null;
    for (let wait = 1000; ; wait = Math.min(wait * 2, 15000)) {
      try {
        user = await this.api.resume();
        break;
      } catch (err) {
        if (err.status !== 0) break; // refused: sign in again
        replace(this.root, h('p', {class: 'loading', role: 'status'}, 'Cannot reach the server; retrying…'));
        await new Promise((r) => setTimeout(r, wait));
      }
    }
    if (user) this.signedIn(user);
    else this.showAuth();
  }

  showAuth(notice = '') {
    const view = authView({
      notice,
      onLogin: async (email, password) => this.signedIn(await this.api.login(email, password)),
      onRegister: async (first, last, email, password) => this.signedIn(await this.api.register(first, last, email, password)),
    });
    replace(this.root, view);
    view.querySelector('input')?.focus();
  }

  signedOut(notice) {
    if (this.leaving) notice = '';
    this.leaving = false;
    this.socket.stop();
    this.destroyViews();
    this.store.reset(null);
    this.showAuth(notice);
  }

  async logout() {
    this.leaving = true;
    this.socket.stop();
    await this.api.logout();
    // api.logout ends the session, which signs out through the event.
  }

  signedIn(user) {
    this.store.reset(user);
    this.store.rememberUser(user);
    this.store.blocked = this.loadBlocked();
    this.status = h('span', {class: 'connection', role: 'status', 'aria-live': 'polite'});
    this.friendsBadge = h('span', {class: 'badge', hidden: true});
    this.toasts = h('div', {class: 'toasts', role: 'status', 'aria-live': 'polite'});
    this.sidebar = h('aside', {class: 'sidebar', 'aria-label': 'Chats'});
    this.mainPane = h('main', {class: 'main', id: 'main', tabindex: '-1'});
    this.shell = h('div', {class: 'shell'},
      // The address names the screen, so the skip link moves focus itself.
      h('a', {class: 'skip', href: '#main', onclick: (e) => {
        e.preventDefault();
        this.mainPane.focus();
      }}, 'Skip to content'),
      this.sidebar, this.mainPane, this.toasts);
    const header = h('header', {class: 'bar'},
      h('img', {src: '/app/icon.svg', alt: '', width: 28, height: 28}),
      h('span', {class: 'me', title: user.email}, fullName(user)),
      this.status,
      h('button', {type: 'button', class: 'link', onclick: () => this.logout()}, 'Sign out'));
    const nav = h('nav', {class: 'tabs', 'aria-label': 'Sections'},
      h('a', {href: '#/', dataset: {tab: 'chats'}}, 'Chats'),
      h('a', {href: '#/friends', dataset: {tab: 'friends'}}, 'Friends', this.friendsBadge));
    this.conversationsView = new ConversationsView(this);
    replace(this.sidebar, header, nav, this.conversationsView.el);
    replace(this.root, this.shell);
    this.onStatus('connecting');
    this.navigate();
    // The socket opens at once; every time it is up, the lists are read
    // again (below), so nothing that happened while it was down is missed.
    this.socket.start();
  }

  loadBlocked() {
    try {
      return JSON.parse(localStorage.getItem(BLOCKED_KEY + this.store.me.id) || '[]');
    } catch {
      return [];
    }
  }

  saveBlocked() {
    localStorage.setItem(BLOCKED_KEY + this.store.me.id, JSON.stringify(this.store.blocked));
    this.store.changed('blocked');
  }

  // refreshAll reloads what the socket does not replay: conversations,
  // friends and requests.
  async refreshAll() {
    const {api, store} = this;
    const me = store.me;
    try {
      const [convs, friends, requests] = await Promise.all([api.conversations(), api.friends(), api.pendingRequests()]);
      if (store.me !== me) return;
      friends.friends.forEach((u) => store.rememberUser(u));
      requests.requests.forEach((r) => store.rememberUser(r.user));
      store.friends = friends.friends;
      store.requests = requests.requests;
      store.setConversations(convs.conversations);
      for (const c of convs.conversations) {
        const last = c.lastMessage;
        if (last && (last.senderId === me.id || last.deliveredAt)) {
          store.acked.set(c.conversationId, Math.max(store.acked.get(c.conversationId) || 0, last.sequenceId));
        }
      }
      store.changed('friends');
      store.changed('requests');
      store.changed('users');
      this.scheduleAck();
    } catch (err) {
      if (err.status !== 401) this.toast(err.message);
    }
  }

  destroyViews() {
    this.main?.destroy?.();
    this.main = null;
    this.conversationsView?.destroy();
    this.conversationsView = null;
  }

  navigate() {
    if (!this.store.me) return;
    const hash = location.hash.replace(/^#\/?/, '');
    const [name, arg] = hash.split('/');
    const prev = this.route;
    if (name === 'chat' && arg) this.route = {name: 'chat', peerId: arg};
    else if (name === 'friends') this.route = {name: 'friends'};
    else this.route = {name: 'home'};
    this.shell.dataset.route = this.route.name;
    for (const a of this.sidebar.querySelectorAll('.tabs a')) {
      const current = (a.dataset.tab === 'friends') === (this.route.name === 'friends');
      if (current) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    if (prev.name === this.route.name && prev.peerId === this.route.peerId && this.main) return;
    this.main?.destroy?.();
    if (this.route.name === 'chat') this.main = new ChatView(this, this.route.peerId);
    else if (this.route.name === 'friends') this.main = new FriendsView(this);
    else {
      this.main = {el: h('div', {class: 'placeholder'}, h('p', {}, 'Choose a conversation, or find people under ', h('a', {href: '#/friends'}, 'Friends'), '.'))};
    }
    replace(this.mainPane, this.main.el);
    this.store.changed('route');
    if (prev.name !== 'home' || this.route.name !== 'home') this.main.focus?.();
  }

  onStatus(status) {
    this.store.connection = status;
    if (!this.status) return;
    const text = {connecting: 'Connecting…', reconnecting: 'Reconnecting…', offline: 'Offline', online: ''}[status];
    this.status.textContent = text;
    this.status.dataset.state = status;
    this.status.hidden = !text;
    if (status === 'online') this.refreshAll();
  }

  renderBadges() {
    const n = this.store.requests.length;
    this.friendsBadge.hidden = n === 0;
    this.friendsBadge.textContent = String(n);
    this.friendsBadge.setAttribute('aria-label', `${n} friend requests`);
  }

  toast(text) {
    if (!this.toasts || !text) return;
    const t = h('p', {class: 'toast'}, text);
    this.toasts.append(t);
    setTimeout(() => t.remove(), 5000);
  }

  onScreen(convId) {
    return this.route.name === 'chat' && this.main?.chat?.id === convId && document.visibilityState === 'visible';
  }

  // onEvent handles one frame from the socket; unknown events are ignored.
  onEvent(name, data) {
    const {store} = this;
    if (!store.me) return;
    switch (name) {
      case 'newMessage':
        store.receive(data, {live: true, onScreen: this.onScreen(data.conversationId)});
        this.scheduleAck();
        break;
      case 'messageEdited': {
        store.chats.get(data.conversationId)?.add(data);
        const conv = store.conversations.get(data.conversationId);
        if (conv?.lastMessage?.messageId === data.messageId) conv.lastMessage = data;
        store.changed('conversations');
        store.changed(`chat:${data.conversationId}`);
        break;
      }
      case 'messageDeleted': {
        const chat = store.chats.get(data.conversationId);
        const m = chat?.byId.get(data.messageId);
        if (m) chat.byId.set(m.messageId, {...m, message: '', metadata: null, deletedAt: data.deletedAt});
        const conv = store.conversations.get(data.conversationId);
        if (conv?.lastMessage?.messageId === data.messageId) conv.lastMessage = {...conv.lastMessage, message: '', deletedAt: data.deletedAt};
        store.changed('conversations');
        store.changed(`chat:${data.conversationId}`);
        break;
      }
      case 'messageDelivered': {
        const chat = store.chat(store.peerOf(data.conversationId));
        chat.deliveredUpTo = Math.max(chat.deliveredUpTo, data.upToSequenceId);
        store.changed(`chat:${data.conversationId}`);
        break;
      }
      case 'readReceipt': {
        if (data.readerId === store.me.id) {
          const conv = store.conversations.get(data.conversationId);
          if (conv) conv.unreadCount = 0;
          store.changed('conversations');
        } else {
          const chat = store.chat(data.readerId);
          chat.readUpTo = Math.max(chat.readUpTo, data.upToSequenceId);
          store.changed(`chat:${data.conversationId}`);
        }
        break;
      }
      case 'typingIndicator':
        if (data.senderId !== store.me.id) store.setTyping(data.conversationId, data.isTyping);
        break;
      case 'newFriendRequest':
        store.rememberUser(data.user);
        if (!store.requests.some((r) => r.user.id === data.user.id)) {
          store.requests = [...store.requests, {user: data.user, createdAt: new Date().toISOString()}];
          store.changed('requests');
          this.toast(`${fullName(data.user)} wants to be your friend`);
        }
        break;
      case 'friendRequestAccepted':
        store.rememberUser(data.user);
        store.sentRequests.delete(data.user.id);
        if (!store.friends.some((f) => f.id === data.user.id)) store.friends = [...store.friends, data.user];
        store.changed('friends');
        break;
      case 'friendRemoved':
        store.friends = store.friends.filter((f) => f.id !== data.userId);
        store.changed('friends');
        break;
      case 'presence':
        store.rememberUser({id: data.userId, online: data.online, lastSeenAt: data.lastSeenAt});
        store.friends = store.friends.map((f) => (f.id === data.userId ? {...f, online: data.online, lastSeenAt: data.lastSeenAt} : f));
        store.changed('users');
        store.changed('friends');
        break;
      case 'resync':
        this.resync(data.conversationId, data.lastSequenceId);
        break;
      case 'error':
        if (data.message) this.toast(data.message);
        break;
      default:
        // registered, chatRegistered and events of later servers.
    }
  }

  // scheduleAck acknowledges, a moment later and in one frame per
  // conversation, everything received without a gap.
  scheduleAck() {
    if (this.ackTimer) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null;
      const {store} = this;
      for (const [id, seq] of store.cursors) {
        if (seq <= (store.acked.get(id) || 0)) continue;
        if (this.socket.send('ack', {conversationId: id, upToSequenceId: seq})) store.acked.set(id, seq);
      }
    }, ACK_DELAY_MS);
  }

  // markRead tells the server the open chat was read up to its newest message.
  markRead(chat) {
    const {store} = this;
    if (!this.onScreen(chat.id) || !chat.loaded) return;
    const newest = chat.newest();
    if (newest <= chat.markedUpTo) return;
    const unreadFromPeer = chat.list().some((m) => m.senderId !== store.me.id && m.sequenceId > chat.markedUpTo && !m.readAt);
    const conv = store.conversations.get(chat.id);
    chat.markedUpTo = newest;
    if (conv && conv.unreadCount) {
      conv.unreadCount = 0;
      store.changed('conversations');
    }
    if (!unreadFromPeer) return;
    this.api.markRead(chat.id, newest).catch((err) => {
      chat.markedUpTo = 0;
      this.toast(err.message);
    });
  }

  async loadChat(chat) {
    const {store} = this;
    const page = await this.api.history(chat.id, {limit: PAGE_SIZE});
    for (const m of page.messages) chat.add(m);
    chat.hasMore = page.hasMore;
    chat.loaded = true;
    chat.noteReceipts(store.me.id);
    const newest = page.messages[page.messages.length - 1];
    if (newest) store.receive(newest, {});
    store.advanceCursor(chat.id, chat.contiguous());
    this.scheduleAck();
  }

  async loadOlder(chat) {
    const page = await this.api.history(chat.id, {before: chat.oldest(), limit: PAGE_SIZE});
    for (const m of page.messages) chat.add(m);
    chat.hasMore = page.hasMore;
    chat.noteReceipts(this.store.me.id);
  }

  // resync drops a conversation's messages above lastSequenceId and reads
  // them again from the history.
  async resync(convId, last) {
    const {store} = this;
    const chat = store.chats.get(convId);
    store.cursors.set(convId, last);
    store.acked.set(convId, Math.min(store.acked.get(convId) || 0, last));
    if (!chat) return;
    chat.dropAbove(last);
    let after = last;
    for (;;) {
      const page = await this.api.history(convId, {after, limit: 200});
      for (const m of page.messages) store.receive(m, {});
      if (!page.hasMore || page.messages.length === 0) break;
      after = page.messages[page.messages.length - 1].sequenceId;
    }
    store.advanceCursor(convId, last);
    store.changed(`chat:${convId}`);
  }

  send(chat, text) {
    const p = {clientMessageId: randomId(), message: text, senderId: this.store.me.id, receiverId: chat.peerId,
      conversationId: chat.id, status: 'pending', localTime: Date.now()};
    chat.pending.set(p.clientMessageId, p);
    this.store.changed(`chat:${chat.id}`);
    this.deliver(chat, p);
  }

  // sendFile uploads file and sends it: an image the browser shows inline
  // as an image message, anything else as a file message (a link).
  sendFile(chat, file) {
    const p = {clientMessageId: randomId(), message: file.name || 'file', senderId: this.store.me.id, receiverId: chat.peerId,
      conversationId: chat.id, status: 'pending', localTime: Date.now(),
      messageType: INLINE_TYPES.has(file.type) ? 'image' : 'file', file};
    chat.pending.set(p.clientMessageId, p);
    this.store.changed(`chat:${chat.id}`);
    this.deliver(chat, p);
  }

  // attachmentURL is an object URL of an attachment's bytes, fetched once.
  attachmentURL(id) {
    if (!this.attachments.has(id)) {
      const url = this.api.attachment(id).then((blob) => URL.createObjectURL(blob));
      url.catch(() => this.attachments.delete(id));
      this.attachments.set(id, url);
    }
    return this.attachments.get(id);
  }

  // retry sends a failed message again with the same clientMessageId, so the
  // server stores it once however many attempts reached it.
  retry(chat, clientMessageId) {
    const p = chat.pending.get(clientMessageId);
    if (!p || p.status !== 'failed') return;
    p.status = 'pending';
    p.error = '';
    this.store.changed(`chat:${chat.id}`);
    this.deliver(chat, p);
  }

  async deliver(chat, p) {
    try {
      if (p.file && !p.metadata) p.metadata = {attachmentId: await this.api.upload(p.file)};
      const r = await this.api.sendMessage(p.receiverId, p.message, p.clientMessageId, p.messageType, p.metadata);
      p.status = 'sent';
      p.messageId = r.messageId;
    } catch (err) {
      p.status = 'failed';
      p.error = err.status === 0 ? '' : err.message;
    }
    this.store.changed(`chat:${chat.id}`);
  }

  typing(peerId, isTyping) {
    this.socket.send('typing', {receiverId: peerId, isTyping});
  }

  async sendFriendRequest(user) {
    await this.api.sendFriendRequest(user.id);
    this.store.sentRequests.add(user.id);
    this.store.changed('friends');
  }

  async acceptFriendRequest(user) {
    await this.api.acceptFriendRequest(user.id);
    const {store} = this;
    store.requests = store.requests.filter((r) => r.user.id !== user.id);
    if (!store.friends.some((f) => f.id === user.id)) store.friends = [...store.friends, user];
    store.changed('requests');
    store.changed('friends');
  }

  async declineFriendRequest(user) {
    await this.api.declineFriendRequest(user.id);
    this.store.requests = this.store.requests.filter((r) => r.user.id !== user.id);
    this.store.changed('requests');
  }

  async block(user) {
    await this.api.block(user.id);
    const {store} = this;
    store.friends = store.friends.filter((f) => f.id !== user.id);
    store.requests = store.requests.filter((r) => r.user.id !== user.id);
    if (!store.blocked.some((b) => b.id === user.id)) store.blocked = [...store.blocked, user];
    this.saveBlocked();
    store.changed('friends');
    store.changed('requests');
  }

  async unblock(user) {
    await this.api.unblock(user.id);
    this.store.blocked = this.store.blocked.filter((b) => b.id !== user.id);
    this.saveBlocked();
  }
}
