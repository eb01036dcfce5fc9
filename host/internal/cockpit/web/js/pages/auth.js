// Sign in and sign up. The answer sets the HttpOnly session cookie; the
// page never sees the token.
import {h, mount, field, setFieldError, setBusy, isBusy, autofocus} from '../dom.js';
import {api} from '../api.js';
import {t} from '../i18n.js';

export async function render({root, app, name}) {
  const signup = name === 'signup';
  const email = field(t('auth.email'), h('input', {type: 'email', name: 'email', autocomplete: 'email', required: true}));
  const password = field(t('auth.password'), h('input', {type: 'password', name: 'password', required: true, minlength: signup ? '10' : null,
    autocomplete: signup ? 'new-password' : 'current-password'}), signup ? t('auth.passwordHint') : null);
  const formError = h('p', {class: 'form-error', role: 'alert', hidden: true});
  const submit = h('button', {type: 'submit', class: 'btn primary wide'}, signup ? t('auth.createAccount') : t('auth.signin'));
  const form = h('form', {class: 'card auth', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    if (isBusy(submit)) return;
    setFieldError(email, '');
    setFieldError(password, '');
    formError.hidden = true;
    if (!email.input.value || !password.input.value) {
      if (!email.input.value) setFieldError(email, t('auth.required'));
      if (!password.input.value) setFieldError(password, t('auth.required'));
      return;
    }
    setBusy(submit, true);
    try {
      await api('POST', signup ? '/api/v2/auth/register' : '/api/v2/auth/login', {
        body: {email: email.input.value.trim(), password: password.input.value},
      });
      await app.signedIn();
      app.navigate(signup ? '/accounts' : '/trade', true);
    } catch (err) {
      setBusy(submit, false);
      const msg = errorText(err);
      if (err.field === 'email') setFieldError(email, msg);
      else if (err.field === 'password' || /password/i.test(err.message || '')) setFieldError(password, msg);
      else {
        formError.textContent = msg;
        formError.hidden = false;
      }
    }
  }},
  h('h1', null, signup ? t('auth.signupTitle') : t('auth.signinTitle')),
  h('p', {class: 'muted'}, t('auth.tagline')),
  email.wrap, password.wrap, formError, submit,
  h('p', {class: 'switch'}, signup ? t('auth.haveAccount') : t('auth.noAccount'), ' ',
    h('a', {href: signup ? '/signin' : '/signup'}, signup ? t('auth.signin') : t('auth.signup'))));
  mount(root, h('div', {class: 'auth-wrap'}, form));
  autofocus(root, email.input);
}

function errorText(err) {
  switch (err.code) {
    case 'invalid_credentials': return t('auth.invalid');
    case 'email_taken': return t('auth.taken');
    case 'too_many_attempts': return t('auth.throttled');
    case 'rate_limited': return t('err.rate');
    case 'network': return t('err.network');
    default: return err.message;
  }
}
