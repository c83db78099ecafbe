// The conversations list: peer, last message, unread badge, newest first.
import {avatar, fullName, h, replace, timeEl} from '../dom.js';

export class ConversationsView {
  constructor(app) {
    this.app = app;
    this.list = h('ul', {class: 'conversations', 'aria-label': 'Conversations'});
    this.empty = h('p', {class: 'empty'}, 'No conversations yet. Find people under ', h('a', {href: '#/friends'}, 'Friends'), '.');
    this.el = h('section', {class: 'conversation-list'}, this.list, this.empty);
    this.onChange = (e) => {
      const what = e.detail;
      if (what === 'conversations' || what === 'route' || what.startsWith('typing:') || what === 'users') this.render();
    };
    app.store.addEventListener('change', this.onChange);
    this.render();
  }

  destroy() {
    this.app.store.removeEventListener('change', this.onChange);
  }

  render() {
    const {store} = this.app;
    const active = this.app.route.peerId;
    const items = store.sortedConversations().map((c) => {
      const peer = store.users.get(c.peer.id) || c.peer;
      const last = c.lastMessage;
      const mine = last?.senderId === store.me.id;
      const typing = store.typing.has(c.conversationId);
      let preview = last ? last.message : '';
      if (last?.deletedAt) preview = 'Message deleted';
      const unread = c.unreadCount || 0;
      return h('li', {},
        h('a', {
          class: 'conversation',
          href: `#/chat/${peer.id}`,
          'aria-current': active === peer.id ? 'page' : false,
          dataset: {conversation: c.conversationId, unread: String(unread)},
        },
        avatar(peer),
        h('span', {class: 'conversation-body'},
          h('span', {class: 'conversation-top'},
            h('span', {class: 'conversation-name'}, fullName(peer)),
            last ? timeEl(last.timestamp, {short: true}) : null),
          h('span', {class: 'conversation-bottom'},
            h('span', {class: typing ? 'preview typing' : 'preview'},
              typing ? 'typing…' : (mine ? 'You: ' : '') + preview),
            unread > 0 ? h('span', {class: 'badge', 'aria-label': `${unread} unread`}, String(unread)) : null))));
    });
    replace(this.list, items);
    this.empty.hidden = items.length > 0;
  }
}
