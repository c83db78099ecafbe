// The sign-in and sign-up screen.
import {h} from '../dom.js';

let fieldSeq = 0;

function field(label, attrs) {
  const id = `f${++fieldSeq}`;
  return h('div', {class: 'field'}, h('label', {for: id}, label), h('input', {id, required: true, ...attrs}));
}

// authView returns the screen; onLogin(email, password) and
// onRegister(first, last, email, password) resolve or throw an error whose
// message is shown.
export function authView({onLogin, onRegister, notice = ''}) {
  const error = h('p', {class: 'form-error', role: 'alert'}, notice);
  let mode = 'login';

  const login = h('form', {class: 'auth-form', 'aria-label': 'Sign in', novalidate: false},
    field('Email', {type: 'email', name: 'email', autocomplete: 'username'}),
    field('Password', {type: 'password', name: 'password', autocomplete: 'current-password'}),
    h('button', {type: 'submit', class: 'primary'}, 'Sign in'));
  const register = h('form', {class: 'auth-form', 'aria-label': 'Create account', hidden: true},
    h('div', {class: 'row'},
      field('First name', {name: 'firstName', autocomplete: 'given-name'}),
      field('Last name', {name: 'lastName', autocomplete: 'family-name'})),
    field('Email', {type: 'email', name: 'email', autocomplete: 'email'}),
    field('Password', {type: 'password', name: 'password', autocomplete: 'new-password', minlength: 8}),
    h('button', {type: 'submit', class: 'primary'}, 'Create account'));

  const switchButton = h('button', {type: 'button', class: 'link', onclick: () => setMode(mode === 'login' ? 'register' : 'login')});
  const heading = h('h2', {id: 'auth-heading'});

  function setMode(m) {
    mode = m;
    login.hidden = m !== 'login';
    register.hidden = m !== 'register';
    heading.textContent = m === 'login' ? 'Sign in' : 'Create an account';
    switchButton.textContent = m === 'login' ? 'New here? Create an account' : 'Have an account? Sign in';
    error.textContent = '';
    (m === 'login' ? login : register).querySelector('input')?.focus();
  }

  async function submit(form, fn) {
    const data = Object.fromEntries(new FormData(form));
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    error.textContent = '';
    try {
      await fn(data);
    } catch (err) {
      error.textContent = err.message || 'Something went wrong';
      form.querySelector('input')?.focus();
    } finally {
      button.disabled = false;
    }
  }
  login.addEventListener('submit', (e) => {
    e.preventDefault();
    submit(login, (d) => onLogin(d.email, d.password));
  });
  register.addEventListener('submit', (e) => {
    e.preventDefault();
    submit(register, (d) => onRegister(d.firstName, d.lastName, d.email, d.password));
  });

  const el = h('main', {class: 'auth', 'aria-labelledby': 'auth-heading'},
    h('div', {class: 'auth-card'},
      h('h1', {class: 'brand'}, h('img', {src: '/app/icon.svg', alt: '', width: 40, height: 40}), 'Messenger'),
      heading, error, login, register, switchButton));
  setMode('login');
  return el;
}
