// Draws the page's Vega-Lite charts. Written by scripts/vendor-frontend.
//
// A chart is <div class="mkdeal-chart" data-spec="ID">fallback text</div> and, anywhere in the
// page, <script type="application/json" id="ID">the Vega-Lite specification</script>
// (templates/_chart.jinja writes both). Load, in this order, each with <script src=... defer>:
// vega.min.js, vega-lite.min.js, vega-interpreter.js, vega-embed.min.js, then this file.
//
// The Content-Security-Policy allows no 'unsafe-eval' and no inline styles, hence the options:
// - ast and expr: Vega interprets expressions (vega-interpreter 2.3.2) instead of compiling
//   them with new Function;
// - defaultStyle: false: otherwise vega-embed adds a <style> element (for its actions menu);
// - actions: false: no menu of exports, source and a link to the online Vega editor;
// - tooltip: false: vega-tooltip's handler adds a <style> element too; without it Vega puts
//   the tooltip text in the chart element's title attribute, which the browser shows on hover.
// A specification's usermeta.embedOptions would override these options, so it is dropped.
// The chart is drawn into a hidden element, which replaces the fallback text only once drawn:
// if drawing fails the fallback stays, and the error goes to the console. The drawn SVG is
// given max-width 100% (through the CSSOM, which the CSP allows) so that it shrinks to fit
// narrow screens. The div's data-chart attribute says how it went: drawn or failed.
(function () {
  "use strict";

  function options() {
    return {
      actions: false,
      ast: true,
      expr: vega.expressionInterpreter,
      renderer: "svg",
      defaultStyle: false,
      tooltip: false,
    };
  }

  function specOf(div) {
    const id = div.getAttribute("data-spec");
    const script = id ? document.getElementById(id) : null;
    if (!script || script.tagName !== "SCRIPT" || script.type !== "application/json") {
      throw new Error('no <script type="application/json" id="' + id + '">');
    }
    const spec = JSON.parse(script.textContent);
    if (spec && spec.usermeta && spec.usermeta.embedOptions) {
      delete spec.usermeta.embedOptions;
    }
    return spec;
  }

  function fail(div, error) {
    div.setAttribute("data-chart", "failed");
    console.error("mkdeal chart " + div.getAttribute("data-spec") + " was not drawn:", error);
  }

  function draw(div) {
    if (div.hasAttribute("data-chart")) {
      return;
    }
    div.setAttribute("data-chart", "drawing");
    let target = null;
    try {
      if (typeof vegaEmbed !== "function" || typeof vegaLite === "undefined") {
        throw new Error("vega.min.js, vega-lite.min.js or vega-embed.min.js is not loaded");
      }
      if (!vega.expressionInterpreter) {
        throw new Error("vega-interpreter.js is not loaded");
      }
      const spec = specOf(div);
      target = document.createElement("div");
      target.hidden = true;
      div.appendChild(target);
      vegaEmbed(target, spec, options()).then(
        () => {
          for (const node of Array.from(div.childNodes)) {
            if (node !== target) {
              div.removeChild(node);
            }
          }
          const svg = target.querySelector("svg");
          if (svg) {
            svg.style.maxWidth = "100%";
            svg.style.height = "auto";
            // The page names the chart and gives its table; the marks are hidden from
            // assistive technology, which would otherwise meet unlabelled SVG groups.
            svg.setAttribute("aria-hidden", "true");
          }
          target.hidden = false;
          div.setAttribute("data-chart", "drawn");
        },
        (error) => {
          target.remove();
          fail(div, error);
        },
      );
    } catch (error) {
      if (target) {
        target.remove();
      }
      fail(div, error);
    }
  }

  function drawAll(scope) {
    const divs = Array.from(scope.querySelectorAll("div.mkdeal-chart[data-spec]"));
    if (scope instanceof Element && scope.matches("div.mkdeal-chart[data-spec]")) {
      divs.unshift(scope);
    }
    divs.forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => drawAll(document));
  } else {
    drawAll(document);
  }
  // Charts in content that htmx swaps into the page.
  document.addEventListener("htmx:load", (event) => {
    if (event.target instanceof Element) {
      drawAll(event.target);
    }
  });
})();
