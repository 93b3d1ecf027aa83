/* global document, window, HTMLFormElement, Element */
// The only script of our own: small conveniences that the pages work without.
// Confirms destructive actions: a form with data-confirm asks before it posts.
document.addEventListener('submit', (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
});
// Keeps a live log scrolled to its end while the reader is at the end.
document.addEventListener('htmx:sseMessage', (event) => {
  const log = event.target instanceof Element ? event.target.closest('.log') : null;
  if (log && log.scrollHeight - log.scrollTop - log.clientHeight < 80) log.scrollTop = log.scrollHeight;
});
