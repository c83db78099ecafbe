// The live connection: /ws with the access token, `resume` with the client's
// cursors right after every open, reconnects with exponential backoff and
// jitter. Close codes: 4001 the token expired (renew, then reconnect at once);
// 1013 too slow and 1001 going away (reconnect and resume); anything else is
// a lost connection (back off).

const CLOSE_TOKEN_EXPIRED = 4001;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30000;

export class Socket {
  // api gives tokens; cursors() returns {conversationId: lastSequenceId};
  // onEvent(name, data) gets every frame; onStatus(status) gets
  // 'connecting', 'online', 'reconnecting' or 'offline'.
  constructor({api, cursors, onEvent, onStatus}) {
    this.api = api;
    this.cursors = cursors;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = true;
    this.status = 'offline';
    this.wake = () => {
      if (!this.stopped && !this.ws) this.reconnectNow();
    };
  }

  start() {
    this.stopped = false;
    window.addEventListener('online', this.wake);
    this.setStatus('connecting');
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.wake);
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000, 'signed out');
    this.setStatus('offline');
  }

  setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.onStatus(status);
  }

  // send writes a frame if the socket is open; frames are not queued while
  // it is down: typing is ephemeral and acks and resume go again on open.
  send(event, data) {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify({event, data}));
    return true;
  }

  async connect() {
    if (this.stopped) return;
    let token;
    try {
      // After two failed attempts the token may be what is refused (the
      // upgrade's 401 is invisible to scripts): renew it.
      if (this.attempt >= 2) await this.api.refresh();
      token = await this.api.token();
    } catch (err) {
      if (err.status === 401) return; // the session ended; the app signs out
      this.retry();
      return;
    }
    if (this.stopped) return;
    const url = new URL('/ws', location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('access_token', token);
    url.searchParams.set('resume', '1');
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.addEventListener('open', () => {
      if (this.ws !== ws) return;
      ws.send(JSON.stringify({event: 'resume', data: {conversations: this.cursors()}}));
    });
    ws.addEventListener('message', (e) => {
      if (this.ws !== ws) return;
      let frame;
      try {
        frame = JSON.parse(e.data);
      } catch {
        return;
      }
      if (!frame || typeof frame.event !== 'string') return;
      if (frame.event === 'registered') {
        this.attempt = 0;
        this.setStatus('online');
      }
      this.onEvent(frame.event, frame.data || {});
    });
    ws.addEventListener('close', (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      this.setStatus('reconnecting');
      if (e.code === CLOSE_TOKEN_EXPIRED) {
        this.api.refresh().then(() => this.connect(), (err) => {
          if (err.status !== 401) this.retry();
        });
        return;
      }
      this.retry();
    });
  }

  // retry schedules the next attempt: exponential backoff with full jitter
  // over its upper half, so that clients cut off together do not return
  // together.
  retry() {
    clearTimeout(this.timer);
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
    this.attempt++;
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    clearTimeout(this.timer);
    this.connect();
  }
}
