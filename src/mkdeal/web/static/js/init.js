// Initialises the NHS.UK frontend 10.6.1 components. Written by scripts/vendor-frontend.
// Load it as <script type="module" src="/static/js/init.js"></script> at the end of <body>;
// it replaces the inline module script of nhsuk-frontend's docs, which the CSP forbids.
import { initAll } from "./nhsuk-frontend.min.js";

initAll();

// htmx fires htmx:load on each element it swaps into the page (and once on <body> at start,
// which initAll() above has covered): initialise the components inside the new content.
// initAll looks for components inside the scope, not at the scope itself.
document.addEventListener("htmx:load", (event) => {
  const scope = event.target;
  if (scope instanceof Element && scope !== document.body) {
    initAll({ scope });
  }
});
