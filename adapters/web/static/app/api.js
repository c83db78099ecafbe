// REST calls and the session: the access token lives in memory only, the
// refresh token in localStorage (see docs/web-client.md for why). The access
// token is renewed before it expires, and once more when the server answers
// 401; tabs renew one at a time under a Web Lock where the browser has them.

const SESSION_KEY = 'messenger.session';
const LOCK_NAME = 'messenger.refresh';

// ApiError is a failed call: status 0 means the server was not reached.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export class Api extends EventTarget {
  constructor(base = '') {
    super();
    this.base = base;
    this.accessToken = null;
    this.expiresAt = 0; // ms since the epoch
    this.renewTimer = null;
    this.refreshing = null;
    this.supported = new Map();
    // Another tab signing out ends this tab's session too.
    window.addEventListener('storage', (e) => {
      if (e.key === SESSION_KEY && e.newValue === null && this.accessToken) this.end();
    });
  }

  // stored is the session kept across reloads: {refreshToken, user}.
  stored() {
    try {
      return JSON.parse(localStorage.getItem(SESSION_KEY) || 'null');
    } catch {
      return null;
    }
  }

  get user() {
    return this.stored()?.user || null;
  }

  async register(firstName, lastName, email, password) {
    const s = await this.call('POST', '/auth/register', {firstName, lastName, email, password}, {auth: false});
    this.adopt(s, s.user);
    return s.user;
  }

  async login(email, password) {
    const s = await this.call('POST', '/auth/login', {email, password}, {auth: false});
    this.adopt(s, s.user);
    return s.user;
  }

  // logout revokes the refresh token and forgets the session, even when the
  // server cannot be reached.
  async logout() {
    const s = this.stored();
    this.end();
    if (s?.refreshToken) {
      try {
        await this.call('POST', '/auth/logout', {refreshToken: s.refreshToken}, {auth: false});
      } catch {
        // The token expires on its own.
      }
    }
  }

  // resume turns a stored session into an access token; it resolves to the
  // user, or null when there is no session (or it was revoked).
  async resume() {
    if (!this.stored()) return null;
    await this.refresh();
    return this.user;
  }

  adopt(tokens, user) {
    localStorage.setItem(SESSION_KEY, JSON.stringify({refreshToken: tokens.refreshToken, user}));
    this.accessToken = tokens.accessToken;
    this.expiresAt = Date.now() + tokens.expiresIn * 1000;
    this.scheduleRenewal(tokens.expiresIn);
  }

  // scheduleRenewal renews the access token a little before it expires: a
  // fifth of its lifetime early, at most a minute.
  scheduleRenewal(expiresIn) {
    clearTimeout(this.renewTimer);
    const early = Math.min(60, expiresIn / 5);
    const delay = Math.max(1, expiresIn - early) * 1000;
    this.renewTimer = setTimeout(() => this.refresh().catch(() => {}), delay);
  }

  // end forgets the session and tells the app.
  end() {
    clearTimeout(this.renewTimer);
    const had = this.accessToken !== null || this.stored() !== null;
    this.accessToken = null;
    this.expiresAt = 0;
    localStorage.removeItem(SESSION_KEY);
    if (had) this.dispatchEvent(new Event('logout'));
  }

  // refresh rotates the refresh token for a new access token. Concurrent
  // calls share one request; a refused token ends the session, a network
  // failure keeps it and tries again later.
  refresh() {
    if (!this.refreshing) {
      this.refreshing = withLock(() => this.rotate()).finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  async rotate() {
    // Read under the lock: another tab may have rotated the token already.
    const s = this.stored();
    if (!s?.refreshToken) {
      this.end();
      throw new ApiError(401, 'unauthenticated', 'Signed out');
    }
    let t;
    try {
      t = await this.call('POST', '/auth/refresh', {refreshToken: s.refreshToken}, {auth: false});
    } catch (err) {
      if (err.status === 401 || err.status === 400) {
        this.end();
      } else {
        clearTimeout(this.renewTimer);
        this.renewTimer = setTimeout(() => this.refresh().catch(() => {}), 5000);
      }
      throw err;
    }
    this.adopt(t, s.user);
    return t.accessToken;
  }

  // token returns an access token valid for a few more seconds, renewing it
  // first if needed.
  async token() {
    if (!this.accessToken || Date.now() > this.expiresAt - 5000) await this.refresh();
    return this.accessToken;
  }

  // call sends one request and returns the decoded answer. A 401 on an
  // authenticated call renews the token and tries once more.
  async call(method, path, body, {auth = true, retry = true} = {}) {
    const headers = {Accept: 'application/json'};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (auth) headers.Authorization = `Bearer ${await this.token()}`;
    let res;
    try {
      res = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch {
      throw new ApiError(0, 'network', 'The server cannot be reached');
    }
    if (res.status === 401 && auth && retry) {
      await this.refresh();
      return this.call(method, path, body, {auth, retry: false});
    }
    if (res.status === 204) return null;
    let data = null;
    try {
      data = await res.json();
    } catch {
      // An empty or non-JSON body; the status says enough.
    }
    if (!res.ok) {
      const e = data?.error || {};
      throw new ApiError(res.status, e.code || 'error', e.message || `Request failed (${res.status})`);
    }
    return data;
  }

  // supports tells whether the server has an endpoint, from the answer to
  // OPTIONS on its path: features the server gains later appear in the
  // client without a new release of it.
  async supports(path) {
    if (!this.supported.has(path)) {
      this.supported.set(path, fetch(this.base + path, {method: 'OPTIONS', cache: 'no-store'})
        .then((res) => res.status === 204)
        .catch(() => false));
    }
    return this.supported.get(path);
  }

  // The endpoints, by name.
  searchUsers(q) {
    return this.call('GET', `/friends/search?q=${encodeURIComponent(q)}`);
  }
  sendFriendRequest(friendId) {
    return this.call('POST', '/friends/send-request', {friendId});
  }
  acceptFriendRequest(friendId) {
    return this.call('POST', '/friends/accept-request', {friendId});
  }
  declineFriendRequest(friendId) {
    return this.call('POST', '/friends/decline-request', {friendId});
  }
  block(friendId) {
    return this.call('POST', '/friends/block', {friendId});
  }
  unblock(friendId) {
    return this.call('POST', '/friends/unblock', {friendId});
  }
  pendingRequests() {
    return this.call('GET', '/friends/pending-requests');
  }
  friends() {
    return this.call('GET', '/friends/list');
  }
  conversations() {
    return this.call('GET', '/messages/conversations');
  }
  history(id, {before, after, limit} = {}) {
    const q = new URLSearchParams();
    if (before) q.set('before', before);
    if (after !== undefined) q.set('after', after);
    if (limit) q.set('limit', limit);
    return this.call('GET', `/messages/history/${encodeURIComponent(id)}?${q}`);
  }
  sendMessage(receiverId, message, clientMessageId, messageType = 'text', metadata = undefined) {
    return this.call('POST', '/messages/send', {receiverId, message, messageType, metadata, clientMessageId});
  }

  // upload declares file, sends it where the server says (this server, or
  // a presigned URL of an object store) and returns its attachmentId.
  async upload(file) {
    const up = await this.call('POST', '/attachments', {fileName: file.name, contentType: file.type, size: file.size});
    let res;
    try {
      res = await fetch(new URL(up.uploadUrl, this.base || location.origin), {
        method: up.uploadMethod, headers: up.uploadHeaders, body: file, cache: 'no-store', credentials: 'omit'});
    } catch {
      throw new ApiError(0, 'network', 'The upload did not reach the server');
    }
    if (!res.ok) throw new ApiError(res.status, 'upload', `Upload refused (${res.status})`);
    return up.attachmentId;
  }

  // attachment fetches an attachment's bytes, following the server's
  // redirect to its short-lived download URL.
  async attachment(id) {
    let res;
    try {
      res = await fetch(`${this.base}/attachments/${encodeURIComponent(id)}`, {
        headers: {Authorization: `Bearer ${await this.token()}`}, cache: 'no-store', credentials: 'omit'});
    } catch {
      throw new ApiError(0, 'network', 'The server cannot be reached');
    }
    if (!res.ok) throw new ApiError(res.status, 'attachment', `Attachment not available (${res.status})`);
    return res.blob();
  }
  markRead(conversationId, upToSequenceId) {
    return this.call('POST', '/messages/mark-read', {conversationId, upToSequenceId});
  }
}

// withLock runs fn holding the tabs' refresh lock, where the browser has Web
// Locks (secure origins); elsewhere the server's reuse grace covers two tabs
// renewing at once.
function withLock(fn) {
  if (navigator.locks?.request) return navigator.locks.request(LOCK_NAME, fn);
  return fn();
}
