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
// A table wider than the screen scrolls sideways inside itself (app.css). Keyboard users scroll
// it with the arrow keys once it can take focus, so such a table joins the Tab order; it leaves it
// when it fits again (a wider window, content swapped by a live update).
function focusWideTables() {
  for (const table of document.querySelectorAll('table')) {
    const scrolls = table.scrollWidth > table.clientWidth + 1;
    if (scrolls && !table.hasAttribute('tabindex')) {
      table.setAttribute('tabindex', '0');
      table.dataset.scrolls = 'yes';
    } else if (!scrolls && table.dataset.scrolls) {
      table.removeAttribute('tabindex');
      delete table.dataset.scrolls;
    }
  }
}
focusWideTables();
window.addEventListener('resize', focusWideTables);
document.addEventListener('htmx:afterSettle', focusWideTables);
