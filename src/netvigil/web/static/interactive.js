/*
 * netvigil: a chart made interactive when a reader asks for it.
 *
 * Every page loads this file with `defer`. Each <figure class="chart" data-spec="URL"> has a
 * picture of the chart drawn on the server (SVG or PNG), which is the page without JavaScript.
 * This adds one button to each, labelled with the figure's data-label (translated by the
 * server). Only on a click does it load Vega, Vega-Lite and vega-embed (about 840 KB, from
 * /static/vendor/, never from another host), fetch the Vega-Lite spec from data-spec (same
 * origin only) and put the interactive view where the picture was. Failures are written into the
 * figure as text and the picture stays; nothing is thrown.
 *
 * The page's CSP has no 'unsafe-eval' and no inline styles, so:
 *  - `ast: true`: Vega parses expressions to syntax trees and vega-embed evaluates them with
 *    vega-interpreter (bundled in vega-embed.min.js: `expr: vega.expressionInterpreter ??
 *    opts.expr ?? <bundled interpreter>` in its embed()), instead of compiling them with
 *    Function(), which the CSP forbids;
 *  - `defaultStyle: false` and the tooltip's `disableDefaultStyle`: both would insert a <style>
 *    element; their few rules are in /static/interactive.css, linked on the first click.
 * Optional attributes of the figure: data-error (the failure's text), data-save-svg and
 * data-save-png (the export links' text), data-name (the downloaded file's name).
 */
(function () {
  "use strict";

  var VENDOR = "/static/vendor/";
  // In this order: vega-lite's and vega-embed's builds read the global `vega` as they run.
  var SCRIPTS = [
    VENDOR + "vega/vega.min.js",
    VENDOR + "vega-lite/vega-lite.min.js",
    VENDOR + "vega-embed/vega-embed.min.js",
  ];
  var STYLESHEET = "/static/interactive.css";
  var libraries = null; // the promise of all three, made on the first click

  function script(src) {
    return new Promise(function (resolve, reject) {
      var element = document.createElement("script");
      element.src = src;
      element.onload = function () { resolve(); };
      element.onerror = function () {
        element.remove();
        reject(new Error("could not load " + src));
      };
      document.head.appendChild(element);
    });
  }

  function load() {
    if (libraries === null) {
      if (!document.querySelector('link[href="' + STYLESHEET + '"]')) {
        var link = document.createElement("link");
        link.rel = "stylesheet";
        link.href = STYLESHEET;
        document.head.appendChild(link);
      }
      libraries = SCRIPTS.reduce(function (chain, src) {
        return chain.then(function () { return script(src); });
      }, Promise.resolve());
      // A failed load (a dropped connection) may be tried again by another click.
      libraries.catch(function () { libraries = null; });
    }
    return libraries;
  }

  function spec(address) {
    var url = new URL(address, document.baseURI);
    if (url.origin !== window.location.origin) {
      return Promise.reject(new Error("the chart's spec is not on this server"));
    }
    return fetch(url.href, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("the chart's spec answered " + response.status);
        }
        return response.json();
      });
  }

  function options(figure) {
    var i18n = {};
    if (figure.dataset.saveSvg) { i18n.SVG_ACTION = figure.dataset.saveSvg; }
    if (figure.dataset.savePng) { i18n.PNG_ACTION = figure.dataset.savePng; }
    return {
      ast: true,
      defaultStyle: false,
      tooltip: { disableDefaultStyle: true },
      actions: { export: true, source: false, compiled: false, editor: false },
      i18n: i18n,
      downloadFileName: figure.dataset.name || "chart",
    };
  }

  function show(figure, button) {
    var old = figure.querySelector(".chart-error");
    if (old) { old.remove(); }
    button.disabled = true;
    figure.setAttribute("aria-busy", "true");
    var picture = figure.querySelector("picture") || figure.querySelector("img");
    var view = document.createElement("div");
    view.className = "chart-view";
    view.tabIndex = -1;
    Promise.all([load(), spec(figure.dataset.spec)])
      .then(function (loaded) {
        if (picture) { picture.replaceWith(view); } else { figure.insertBefore(view, button); }
        return window.vegaEmbed(view, loaded[1], options(figure)).catch(function (error) {
          if (picture) { view.replaceWith(picture); } else { view.remove(); }
          throw error;
        });
      })
      .then(function () {
        button.remove();
        view.focus();
      })
      .catch(function (error) {
        var message = document.createElement("p");
        message.className = "chart-error";
        message.setAttribute("role", "alert");
        var text = figure.dataset.error || "The interactive chart could not be shown";
        message.textContent = text + " (" + (error && error.message ? error.message : error) + ")";
        figure.insertBefore(message, button.nextSibling);
        button.disabled = false;
      })
      .finally(function () { figure.removeAttribute("aria-busy"); });
  }

  function enhance(root) {
    var selector = "figure.chart[data-spec]";
    var figures = Array.prototype.slice.call(root.querySelectorAll(selector));
    if (root.matches && root.matches(selector)) { figures.unshift(root); }
    for (var i = 0; i < figures.length; i++) {
      var figure = figures[i];
      if (figure.dataset.interactive === "offered") { continue; }
      figure.dataset.interactive = "offered";
      var button = document.createElement("button");
      button.type = "button";
      button.className = "chart-interactive";
      button.textContent = figure.dataset.label || "Interactive chart";
      button.addEventListener("click", show.bind(null, figure, button));
      // Right after the picture, so that it is read and reached just after the chart's text.
      var picture = figure.querySelector("picture") || figure.querySelector("img");
      if (picture) { picture.after(button); } else { figure.append(button); }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  } else {
    enhance(document);
  }
  // Content that htmx swaps in gets its buttons too (htmx fires htmx:load on each new element).
  document.addEventListener("htmx:load", function (event) {
    if (event.target && event.target.querySelectorAll) { enhance(event.target); }
  });
})();
