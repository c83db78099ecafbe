// Friends: search people, send requests, answer incoming ones, the friends
// list, blocking and unblocking.
import {avatar, fullName, h, replace} from '../dom.js';

export class FriendsView {
  constructor(app) {
    this.app = app;
    this.results = null; // null: no search yet
    this.canDecline = false;
    this.query = h('input', {id: 'friend-search', type: 'search', name: 'q', placeholder: 'Name or email', autocomplete: 'off', required: true});
    this.searchForm = h('form', {class: 'search', role: 'search'},
      h('label', {for: 'friend-search', class: 'visually-hidden'}, 'Search people'),
      this.query,
      h('button', {type: 'submit'}, 'Search'));
    this.resultList = h('ul', {class: 'people', 'aria-label': 'Search results'});
    this.requestList = h('ul', {class: 'people', 'aria-label': 'Friend requests'});
    this.friendList = h('ul', {class: 'people', 'aria-label': 'Friends'});
    this.blockedList = h('ul', {class: 'people', 'aria-label': 'Blocked people'});
    this.requestSection = h('section', {'aria-labelledby': 'requests-heading'},
      h('h3', {id: 'requests-heading'}, 'Friend requests'), this.requestList);
    this.blockedSection = h('section', {'aria-labelledby': 'blocked-heading'},
      h('h3', {id: 'blocked-heading'}, 'Blocked'), this.blockedList);
    this.el = h('section', {class: 'friends', 'aria-labelledby': 'friends-heading'},
      h('header', {class: 'chat-head'},
        h('a', {class: 'back', href: '#/', 'aria-label': 'Back to chats'}, '‹'),
        h('h2', {id: 'friends-heading'}, 'Friends')),
      h('div', {class: 'friends-body'},
        h('section', {'aria-labelledby': 'search-heading'},
          h('h3', {id: 'search-heading'}, 'Find people'), this.searchForm, this.resultList),
        this.requestSection,
        h('section', {'aria-labelledby': 'friendlist-heading'},
          h('h3', {id: 'friendlist-heading'}, 'Your friends'), this.friendList),
        this.blockedSection));

    this.searchForm.addEventListener('submit', (e) => {
      e.preventDefault();
      this.search();
    });
    this.onChange = (e) => {
      if (['friends', 'requests', 'blocked', 'users'].includes(e.detail)) this.render();
    };
    app.store.addEventListener('change', this.onChange);
    app.api.supports('/friends/decline-request').then((ok) => {
      this.canDecline = ok;
      this.render();
    });
    this.render();
  }

  destroy() {
    this.app.store.removeEventListener('change', this.onChange);
  }

  focus() {
    this.query.focus();
  }

  async search() {
    const q = this.query.value.trim();
    if (!q) return;
    try {
      const {users} = await this.app.api.searchUsers(q);
      this.results = users;
      users.forEach((u) => this.app.store.rememberUser(u));
    } catch (err) {
      this.app.toast(err.message);
      return;
    }
    this.render();
  }

  // act runs one action of a button, disabling it meanwhile.
  async act(button, fn) {
    button.disabled = true;
    try {
      await fn();
    } catch (err) {
      this.app.toast(err.message);
      button.disabled = false;
    }
  }

  render() {
    const {store} = this.app;
    const friendIds = new Set(store.friends.map((f) => f.id));
    const blockedIds = new Set(store.blocked.map((b) => b.id));
    const requestIds = new Set(store.requests.map((r) => r.user.id));

    if (this.results === null) {
      replace(this.resultList);
    } else if (this.results.length === 0) {
      replace(this.resultList, h('li', {class: 'empty'}, 'Nobody found.'));
    } else {
      replace(this.resultList, this.results.map((u) => {
        let action;
        if (friendIds.has(u.id)) action = h('a', {class: 'button', href: `#/chat/${u.id}`}, 'Message');
        else if (blockedIds.has(u.id)) action = h('span', {class: 'note'}, 'Blocked');
        else if (requestIds.has(u.id)) action = h('span', {class: 'note'}, 'Wants to be your friend');
        else if (store.sentRequests.has(u.id)) action = h('span', {class: 'note'}, 'Request sent');
        else {
          action = h('button', {type: 'button', class: 'primary', 'aria-label': `Add ${fullName(u)} as a friend`,
            onclick: (e) => this.act(e.currentTarget, () => this.app.sendFriendRequest(u))}, 'Add friend');
        }
        return person(u, action);
      }));
    }

    this.requestSection.hidden = store.requests.length === 0;
    replace(this.requestList, store.requests.map((r) => person(r.user,
      h('button', {type: 'button', class: 'primary', 'aria-label': `Accept ${fullName(r.user)}`,
        onclick: (e) => this.act(e.currentTarget, () => this.app.acceptFriendRequest(r.user))}, 'Accept'),
      this.canDecline ? h('button', {type: 'button', 'aria-label': `Decline ${fullName(r.user)}`,
        onclick: (e) => this.act(e.currentTarget, () => this.app.declineFriendRequest(r.user))}, 'Decline') : null)));

    replace(this.friendList, store.friends.length === 0
      ? [h('li', {class: 'empty'}, 'No friends yet: search for someone above.')]
      : store.friends.map((f) => person(f,
        h('a', {class: 'button', href: `#/chat/${f.id}`, 'aria-label': `Message ${fullName(f)}`}, 'Message'),
        h('button', {type: 'button', class: 'danger', 'aria-label': `Block ${fullName(f)}`,
          onclick: (e) => this.act(e.currentTarget, () => this.app.block(f))}, 'Block'))));

    this.blockedSection.hidden = store.blocked.length === 0;
    replace(this.blockedList, store.blocked.map((b) => person(b,
      h('button', {type: 'button', 'aria-label': `Unblock ${fullName(b)}`,
        onclick: (e) => this.act(e.currentTarget, () => this.app.unblock(b))}, 'Unblock'))));
  }
}

function person(user, ...actions) {
  const dot = user.online === undefined ? null
    : h('span', {class: user.online ? 'presence online' : 'presence', 'aria-label': user.online ? 'online' : 'offline', role: 'img'});
  return h('li', {class: 'person', dataset: {user: user.id}},
    avatar(user),
    h('span', {class: 'person-body'},
      h('span', {class: 'person-name'}, fullName(user), dot),
      h('span', {class: 'person-email'}, user.email || '')),
    h('span', {class: 'actions'}, actions));
}
